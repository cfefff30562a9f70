//! One enum arm per contract version the host loads: pre-instantiated bindings, live
//! instances and the dispatch of a call to the version's generated export functions.

use wasmtime::Store;

use super::requests::{Request, Response};
use super::state::StoreState;
use super::{v0_1_0, v0_2_0};

/// Pre-instantiated bindings of one contract version.
pub(crate) enum Contract {
    /// `moviedirector:node@0.1.0`.
    V0_1_0(v0_1_0::Bindings),
    /// `moviedirector:node@0.2.0`.
    V0_2_0(v0_2_0::Bindings),
}

/// A live instance of one contract version.
pub(crate) enum LiveContract {
    V0_1_0(v0_1_0::Instance),
    V0_2_0(v0_2_0::Instance),
}

impl Contract {
    /// Instantiates the component in `store`.
    pub(crate) async fn instantiate(
        &self,
        store: &mut Store<StoreState>,
    ) -> wasmtime::Result<LiveContract> {
        Ok(match self {
            Contract::V0_1_0(bindings) => LiveContract::V0_1_0(bindings.instantiate(store).await?),
            Contract::V0_2_0(bindings) => LiveContract::V0_2_0(bindings.instantiate(store).await?),
        })
    }

    /// The contract version, `0.1.0`.
    pub(crate) fn version(&self) -> &'static str {
        match self {
            Contract::V0_1_0(_) => v0_1_0::VERSION,
            Contract::V0_2_0(_) => v0_2_0::VERSION,
        }
    }
}

impl LiveContract {
    /// Calls one export.
    pub(crate) async fn dispatch(
        &self,
        store: &mut Store<StoreState>,
        request: &Request,
    ) -> wasmtime::Result<Response> {
        match self {
            LiveContract::V0_1_0(instance) => instance.dispatch(store, request).await,
            LiveContract::V0_2_0(instance) => instance.dispatch(store, request).await,
        }
    }
}

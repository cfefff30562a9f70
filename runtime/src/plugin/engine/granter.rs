//! The capability granter: every side-effecting import passes here first.
//!
//! A plugin may use a capability only if its descriptor asked for it, and an outbound HTTP
//! origin only if the plugin asked for it *and* the operator granted it. A violation stops
//! the call with a message that says exactly which rule was broken.

use super::state::StoreState;
use crate::plugin::error::Failure;
use crate::plugin::types::Capability;

impl StoreState {
    /// Refuses imports during `describe`, which must be self-contained.
    pub fn require_call(&mut self, import: &str) -> wasmtime::Result<()> {
        if self.descriptor.is_none() {
            return Err(self.stop(Failure::Capability(format!(
                "called `{import}` from describe, which must not use host functions"
            ))));
        }
        Ok(())
    }

    /// Refuses an import whose capability the descriptor does not request.
    pub fn require_capability(
        &mut self,
        capability: &Capability,
        doing: &str,
    ) -> wasmtime::Result<()> {
        let Some(descriptor) = self.descriptor.clone() else {
            return self.require_call(doing);
        };
        if !descriptor.requests(capability) {
            let name = match capability {
                Capability::OutboundHttp(_) => "outbound-http",
                Capability::AssetRead => "asset-read",
                Capability::OutputWrite => "output-write",
            };
            return Err(self.stop(Failure::Capability(format!(
                "tried to {doing} without requesting the `{name}` capability in its descriptor"
            ))));
        }
        Ok(())
    }

    /// Refuses an HTTP origin unless both the plugin and the operator allow it.
    pub fn require_origin(&mut self, origin: &str) -> wasmtime::Result<()> {
        let descriptor = self
            .descriptor
            .clone()
            .expect("checked by require_capability");
        let requested = descriptor.requested_origins().any(|wanted| {
            wanted == "*"
                || super::super::descriptor_check::parse_origin(wanted).as_deref() == Some(origin)
        });
        if !requested {
            return Err(self.stop(Failure::Capability(format!(
                "tried to reach {origin}, which its descriptor does not request"
            ))));
        }
        if !self.context.grants.allows_origin(origin) {
            let granted: Vec<&str> = self.context.grants.origins().collect();
            let granted = if granted.is_empty() {
                "none".to_string()
            } else {
                granted.join(", ")
            };
            return Err(self.stop(Failure::Capability(format!(
                "tried to reach {origin}, which the operator has not granted (granted: {granted})"
            ))));
        }
        Ok(())
    }
}

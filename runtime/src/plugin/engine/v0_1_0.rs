//! Bindings for contract `moviedirector:node@0.1.0` (frozen in `wit/since_v0.1.0`): host
//! imports with their capability checks, export calls, and conversions to runtime types, all
//! expanded from [`super::contract_glue`]. Generated types never leave this module.

use super::contract_glue::node_contract_0_1_interfaces;

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../wit/since_v0.1.0",
    imports: {
        "moviedirector:node/assets": async | trappable,
        "moviedirector:node/outputs": async | trappable,
        "moviedirector:node/http": async | trappable,
        default: trappable,
    },
    exports: { default: async },
});

/// The contract version these bindings speak.
pub const VERSION: &str = "0.1.0";

node_contract_0_1_interfaces!();

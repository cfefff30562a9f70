//! The one node type the runtime itself provides: the group (subflow).
//!
//! A group has no ports; other nodes name it as their `parent`. Nesting groups gives the
//! project → scene → shot structure of a film.

use std::sync::LazyLock;

use crate::plugin::types::{NodeDescriptor, Param, ParamType};

/// Type id of the built-in group node.
pub const SUBFLOW_TYPE: &str = "subflow";

/// Version of the built-in group node.
pub const SUBFLOW_VERSION: &str = "1.0.0";

/// Id of the group's only parameter, its optional title text.
pub const SUBFLOW_TITLE_PARAM: &str = "title";

/// The descriptor of the built-in group node; it answers for every version of the type.
pub fn subflow_descriptor() -> &'static NodeDescriptor {
    static DESCRIPTOR: LazyLock<NodeDescriptor> = LazyLock::new(|| NodeDescriptor {
        type_id: SUBFLOW_TYPE.to_string(),
        version: SUBFLOW_VERSION.to_string(),
        display_name: "Group".to_string(),
        category: "Structure".to_string(),
        icon: "folder".to_string(),
        docs: "Holds other nodes: a project's scenes, a scene's shots.".to_string(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        params: vec![Param {
            id: SUBFLOW_TITLE_PARAM.to_string(),
            label: "Title".to_string(),
            param_type: ParamType::Text { multiline: false },
            default: None,
            required: false,
            help: "Shown in the group's header.".to_string(),
        }],
        tiers: Vec::new(),
        actions: Vec::new(),
        capabilities: Vec::new(),
    });
    &DESCRIPTOR
}

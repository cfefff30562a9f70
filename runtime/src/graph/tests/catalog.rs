use crate::graph::{
    Catalog, CatalogError, DescriptorCatalog, SUBFLOW_TYPE, SUBFLOW_VERSION, WithBuiltins,
};
use crate::plugin::types::NodeDescriptor;

fn descriptor(type_id: &str, version: &str) -> NodeDescriptor {
    NodeDescriptor {
        type_id: type_id.into(),
        version: version.into(),
        display_name: type_id.into(),
        category: String::new(),
        icon: String::new(),
        docs: String::new(),
        inputs: vec![],
        outputs: vec![],
        params: vec![],
        tiers: vec![],
        actions: vec![],
        capabilities: vec![],
    }
}

#[test]
fn versions_are_ordered_semantically() {
    let catalog = DescriptorCatalog::from_descriptors(
        ["0.9.0", "0.10.0", "1.0.0-beta.1", "0.2.0", "1.0.0"].map(|v| descriptor("shot", v)),
    )
    .unwrap();
    assert_eq!(
        catalog.versions("shot"),
        ["0.2.0", "0.9.0", "0.10.0", "1.0.0-beta.1", "1.0.0"]
    );
    assert_eq!(catalog.latest("shot").unwrap().version, "1.0.0");
    assert_eq!(
        catalog.descriptor("shot", "0.10.0").unwrap().version,
        "0.10.0"
    );
    assert!(catalog.descriptor("shot", "3.0.0").is_none());
    assert!(catalog.versions("style").is_empty());
    assert_eq!(catalog.len(), 5);
}

#[test]
fn insert_replaces_the_same_version_and_remove_uninstalls() {
    let mut catalog = DescriptorCatalog::new();
    assert!(catalog.is_empty());
    assert_eq!(catalog.insert(descriptor("shot", "1.0.0")), Ok(None));
    let mut renamed = descriptor("shot", "1.0.0");
    renamed.display_name = "Shot".into();
    let replaced = catalog.insert(renamed).unwrap().unwrap();
    assert_eq!(replaced.display_name, "shot");
    assert_eq!(catalog.latest("shot").unwrap().display_name, "Shot");
    assert_eq!(catalog.type_ids(), ["shot"]);
    assert!(catalog.remove("shot", "1.0.0").is_some());
    assert!(catalog.is_empty());
    assert!(catalog.remove("shot", "1.0.0").is_none());
}

#[test]
fn refuses_bad_versions_and_builtin_types() {
    let mut catalog = DescriptorCatalog::new();
    let err = catalog.insert(descriptor("shot", "one")).unwrap_err();
    assert!(matches!(err, CatalogError::BadVersion { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("\"shot\" \"one\" is not a semantic version")
    );
    assert_eq!(
        catalog
            .insert(descriptor(SUBFLOW_TYPE, "1.0.0"))
            .unwrap_err()
            .to_string(),
        "\"subflow\" is a built-in node type and cannot be installed"
    );
}

#[test]
fn the_group_type_is_built_in() {
    let empty = DescriptorCatalog::new();
    let catalog = WithBuiltins(&empty);
    assert_eq!(catalog.versions(SUBFLOW_TYPE), [SUBFLOW_VERSION]);
    assert_eq!(catalog.latest(SUBFLOW_TYPE).unwrap().display_name, "Group");
    assert!(catalog.descriptor(SUBFLOW_TYPE, "9.9.9").is_some());
    assert!(catalog.latest("shot").is_none());
}

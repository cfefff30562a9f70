//! The released contract versions stay frozen and loadable.

use sha2::{Digest, Sha256};

/// `wit/RELEASED` lists each released version with the SHA-256 of its frozen `node.wit`.
#[test]
fn released_contracts_are_frozen_and_supported() {
    let wit = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
    let released = std::fs::read_to_string(wit.join("RELEASED")).unwrap();
    let mut versions = Vec::new();
    for line in released
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
    {
        let (version, digest) = line
            .split_once(char::is_whitespace)
            .expect("`version digest` lines");
        let text = std::fs::read(wit.join(format!("since_v{version}/node.wit"))).unwrap();
        assert_eq!(
            hex::encode(Sha256::digest(&text)),
            digest.trim(),
            "wit/since_v{version}/node.wit changed after its release; put changes in a new version folder"
        );
        versions.push(version.to_string());
    }
    assert_eq!(
        versions,
        mdc_runtime::plugin::SUPPORTED_CONTRACTS,
        "every released contract stays loadable"
    );
}

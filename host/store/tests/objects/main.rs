//! The object store conformance suite, run against the local folder store and an
//! S3-compatible server (`MDC_TEST_S3_ENDPOINT`, started by `cargo xtask test`). A missing S3
//! server fails these tests; it never skips them.

use mdc_store::objects::{ObjectError, ObjectStore, S3Config, S3Store, content_key};

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod local {
            $(
                #[tokio::test]
                async fn $case() {
                    let dir = tempfile::tempdir().unwrap();
                    crate::$case(&mdc_store::objects::LocalDirStore::new(dir.path().to_path_buf())).await;
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test]
                async fn $case() {
                    crate::$case(&crate::s3_store().await).await;
                }
            )*
        }
    };
}

conformance!(
    round_trips_bytes,
    missing_objects_are_not_found,
    refuses_unsafe_keys,
    overwrites_in_place,
    lists_the_keys_of_a_folder
);

async fn s3_store() -> S3Store {
    let endpoint = std::env::var("MDC_TEST_S3_ENDPOINT").unwrap_or_else(|_| {
        panic!("MDC_TEST_S3_ENDPOINT is not set: run `cargo xtask test`, which starts an S3-compatible server")
    });
    let store = S3Store::new(S3Config {
        endpoint,
        region: "us-east-1".into(),
        bucket: "mdc-test".into(),
        access_key: "test".into(),
        secret_key: "test-secret".into(),
        path_style: true,
        prefix: format!("run-{}/", mdc_store::new_id()),
    });
    store.ensure_bucket().await.expect("bucket");
    store
}

async fn round_trips_bytes(store: &dyn ObjectStore) {
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let key = content_key("ab12cd");
    assert_eq!(key, "objects/ab/ab12cd");
    store.put(&key, bytes.clone(), "image/png").await.unwrap();
    assert!(store.exists(&key).await.unwrap());
    assert_eq!(store.get(&key).await.unwrap(), bytes);
    store.delete(&key).await.unwrap();
    assert!(!store.exists(&key).await.unwrap());
    store.delete(&key).await.unwrap();
}

async fn missing_objects_are_not_found(store: &dyn ObjectStore) {
    assert!(matches!(
        store.get("objects/zz/missing").await,
        Err(ObjectError::NotFound(_))
    ));
    assert!(!store.exists("objects/zz/missing").await.unwrap());
}

async fn refuses_unsafe_keys(store: &dyn ObjectStore) {
    for key in ["../escape", "/absolute", "a/../b", "spaces are bad", ""] {
        assert!(
            matches!(
                store.put(key, vec![1], "text/plain").await,
                Err(ObjectError::InvalidKey(_))
            ),
            "{key}"
        );
    }
}

async fn overwrites_in_place(store: &dyn ObjectStore) {
    store
        .put("takes/t1", b"first".to_vec(), "text/plain")
        .await
        .unwrap();
    store
        .put("takes/t1", b"second".to_vec(), "text/plain")
        .await
        .unwrap();
    assert_eq!(store.get("takes/t1").await.unwrap(), b"second");
}

async fn lists_the_keys_of_a_folder(store: &dyn ObjectStore) {
    assert!(store.list("objects").await.unwrap().is_empty());
    for key in [
        content_key("ab01"),
        content_key("ab02"),
        content_key("cd03"),
        "other/x".into(),
    ] {
        store
            .put(&key, b"bytes".to_vec(), "text/plain")
            .await
            .unwrap();
    }
    let mut listed = store.list("objects").await.unwrap();
    listed.sort();
    assert_eq!(
        listed,
        ["objects/ab/ab01", "objects/ab/ab02", "objects/cd/cd03"]
    );
    store.delete(&content_key("ab02")).await.unwrap();
    assert_eq!(store.list("objects").await.unwrap().len(), 2);
    assert!(store.list("../up").await.is_err());
}

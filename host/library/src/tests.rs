//! The library on a real SQLite store in a temporary folder and a local object folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mdc_runtime::graph::{Graph, Node};
use mdc_runtime::plugin::types::ParamValue;
use mdc_store::objects::{LocalDirStore, content_key};
use mdc_store::{SqlStore, Store};
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use super::upload::test_png;
use super::*;

struct Fixture {
    _dir: tempfile::TempDir,
    objects: PathBuf,
    store: Arc<dyn Store>,
    library: AssetLibrary,
    project: String,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let objects = dir.path().join("objects");
    let store: Arc<dyn Store> = Arc::new(
        SqlStore::open_sqlite(&dir.path().join("mdc.db"))
            .await
            .unwrap(),
    );
    let user = store.create_user("Ana", "ana@studio.test").await.unwrap();
    let project = store
        .create_project("Harbour Lights", &user.id)
        .await
        .unwrap()
        .id;
    let library = AssetLibrary::new(store.clone(), Arc::new(LocalDirStore::new(objects.clone())));
    Fixture {
        _dir: dir,
        objects,
        store,
        library,
        project,
    }
}

fn image(name: &str, bytes: Vec<u8>) -> Upload {
    Upload {
        file_name: name.into(),
        bytes,
    }
}

fn text(pairs: &[(&str, &str)]) -> Vec<(String, Json)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Json::from(*v)))
        .collect()
}

fn entry(fx: &Fixture, kind: AssetKind, name: &str, images: Vec<Upload>) -> NewEntry {
    NewEntry {
        project_id: fx.project.clone(),
        kind,
        name: name.into(),
        fields: Vec::new(),
        images,
    }
}

/// Files in the object folder (temporary files excluded).
fn stored_files(root: &Path) -> usize {
    let Ok(dirs) = std::fs::read_dir(root.join("objects")) else {
        return 0;
    };
    dirs.flatten()
        .flat_map(|dir| std::fs::read_dir(dir.path()).unwrap().flatten())
        .filter(|file| !file.file_name().to_string_lossy().starts_with('.'))
        .count()
}

async fn save_graph(fx: &Fixture, nodes: Vec<Node>) {
    let snapshot = mdc_wire::encode_graph(&Graph::from_parts(nodes, [])).unwrap();
    fx.store
        .save_graph(&fx.project, &snapshot, None, "test")
        .await
        .unwrap();
}

async fn fingerprint(fx: &Fixture, id: &str) -> String {
    reference_fingerprint(fx.store.as_ref(), &[id.to_string()])
        .await
        .unwrap()
}

#[tokio::test]
async fn library_creates_a_character_with_its_image_and_thumbnail() {
    let fx = fixture().await;
    let png = test_png(600, 300);
    let created = fx
        .library
        .create(NewEntry {
            fields: text(&[("age", "34"), ("role", "Lead"), ("personality", "wry")]),
            ..entry(
                &fx,
                AssetKind::Character,
                " Maya ",
                vec![image("maya.png", png.clone())],
            )
        })
        .await
        .unwrap();
    let data = &created.asset.data;
    let sha = hex::encode(Sha256::digest(&png));
    assert_eq!(data.name, "Maya");
    assert_eq!(
        (data.mime.as_str(), data.size),
        ("image/png", png.len() as i64)
    );
    assert_eq!(data.sha256, sha);
    assert_eq!(data.object_key, content_key(&sha));
    assert!(
        !created.asset.id.contains(&sha[..8]),
        "the id is not derived from content"
    );
    assert_eq!(
        Json::Object(created.fields.clone()),
        json!({"age": 34, "role": "lead", "personality": "wry"})
    );
    let details = fx.library.image_details(&created).await.unwrap().unwrap();
    assert_eq!(details.dimensions, Some((600, 300)));
    assert_eq!(details.thumbnail.map(|(w, h, _)| (w, h)), Some((256, 128)));
    assert_eq!(stored_files(&fx.objects), 2);
    assert_eq!(fx.library.get(&created.asset.id).await.unwrap(), created);
    let listed = fx.library.list(&fx.project, None).await.unwrap();
    assert_eq!(listed, vec![created]);
}

#[tokio::test]
async fn library_refuses_bad_input_and_writes_nothing() {
    let fx = fixture().await;
    let cases: Vec<(NewEntry, &str)> = vec![
        (
            entry(
                &fx,
                AssetKind::Image,
                "notes",
                vec![image("notes.png", b"plain text".to_vec())],
            ),
            "“notes.png” is not an image (PNG, JPEG or WebP)",
        ),
        (
            entry(&fx, AssetKind::Image, "nothing", vec![]),
            "an image asset needs exactly one image file",
        ),
        (
            entry(
                &fx,
                AssetKind::Environment,
                "Harbour",
                vec![
                    image("a.png", test_png(8, 8)),
                    image("b.png", test_png(9, 9)),
                ],
            ),
            "an environment has one reference image; add more as image assets",
        ),
        (
            NewEntry {
                fields: text(&[("mood", "gloomy")]),
                ..entry(
                    &fx,
                    AssetKind::Environment,
                    "Harbour",
                    vec![image("a.png", test_png(8, 8))],
                )
            },
            "environment field “mood”: “gloomy” is not one of day, night, dusk, dawn, overcast, rain, neon, candlelit, foggy",
        ),
        (
            NewEntry {
                fields: text(&[("examples", "nope")]),
                ..entry(
                    &fx,
                    AssetKind::Style,
                    "Noir",
                    vec![image("a.png", test_png(8, 8))],
                )
            },
            "style example nope: there is no such asset in this project",
        ),
        (
            entry(&fx, AssetKind::Character, "  ", vec![]),
            "an asset needs a name",
        ),
        (
            NewEntry {
                project_id: "no-such-project".into(),
                ..entry(
                    &fx,
                    AssetKind::Character,
                    "Maya",
                    vec![image("maya.png", test_png(30, 30))],
                )
            },
            "there is no project no-such-project",
        ),
    ];
    for (new, message) in cases {
        let err = fx.library.create(new).await.unwrap_err();
        assert_eq!(err.to_string(), message);
    }
    let limited = fx.library.clone().with_limits(UploadLimits {
        max_bytes: 100,
        max_pixels: 1000,
    });
    let err = limited
        .create(entry(
            &fx,
            AssetKind::Image,
            "big",
            vec![image("big.png", vec![7; 101])],
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(err, LibraryError::TooLarge { size: 101, .. }),
        "{err}"
    );
    assert!(fx.library.list(&fx.project, None).await.unwrap().is_empty());
    assert_eq!(stored_files(&fx.objects), 0, "rolled back");
}

#[tokio::test]
async fn updates_replace_name_fields_and_image_and_change_the_fingerprint() {
    let fx = fixture().await;
    // Larger than a thumbnail, so image and thumbnail are different objects.
    let first = test_png(300, 280);
    let maya = fx
        .library
        .create(NewEntry {
            fields: text(&[("age", "34"), ("role", "lead")]),
            ..entry(
                &fx,
                AssetKind::Character,
                "Maya",
                vec![image("maya.png", first.clone())],
            )
        })
        .await
        .unwrap();
    let id = maya.asset.id.clone();
    let before = fingerprint(&fx, &id).await;
    assert_eq!(before.len(), 64);

    let same = fx
        .library
        .update(
            &id,
            EntryChanges {
                fields: text(&[("age", "34")]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        fingerprint(&fx, &id).await,
        before,
        "no real change, same fingerprint"
    );
    assert_eq!(same.fields, maya.fields);

    let renamed = fx
        .library
        .update(
            &id,
            EntryChanges {
                name: Some("Maya Reyes".into()),
                fields: text(&[("age", "35"), ("role", "")]),
                images: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.asset.data.name, "Maya Reyes");
    assert_eq!(Json::Object(renamed.fields), json!({"age": 35}));
    let after_fields = fingerprint(&fx, &id).await;
    assert_ne!(after_fields, before);

    let second = test_png(260, 300);
    let replaced = fx
        .library
        .update(
            &id,
            EntryChanges {
                images: Some(vec![image("maya-2.png", second.clone())]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(replaced.asset.id, id);
    assert_eq!(
        replaced.asset.data.sha256,
        hex::encode(Sha256::digest(&second))
    );
    assert_ne!(fingerprint(&fx, &id).await, after_fields);
    assert_eq!(
        stored_files(&fx.objects),
        2,
        "the old image and thumbnail are gone"
    );

    let err = fx
        .library
        .update(
            &id,
            EntryChanges {
                fields: text(&[("age", "-1")]),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "character field “age”: must be between 0 and 150, not -1"
    );
    assert!(matches!(
        fx.library.update("missing", EntryChanges::default()).await,
        Err(LibraryError::NotFound(_))
    ));
}

#[tokio::test]
async fn delete_is_refused_while_a_node_references_the_asset() {
    let fx = fixture().await;
    let maya = fx
        .library
        .create(entry(
            &fx,
            AssetKind::Character,
            "Maya",
            vec![image("maya.png", test_png(300, 30))],
        ))
        .await
        .unwrap();
    let id = maya.asset.id.clone();
    save_graph(
        &fx,
        vec![
            Node::new("maya", "character", "0.1.0")
                .with_label("Maya")
                .with_param("asset", ParamValue::AssetRef(id.clone())),
            Node::new("shot-1", "shot", "0.1.0")
                .with_label("1.1 · Harbour")
                .with_param(
                    "refs",
                    ParamValue::Json(json!({"cast": [id.clone()]}).to_string()),
                ),
        ],
    )
    .await;
    let err = fx.library.delete(&id).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "“Maya” is still used by 2 references: node “Maya” (maya), node “1.1 · Harbour” (shot-1); \
         remove those references first"
    );
    assert_eq!(stored_files(&fx.objects), 2);

    save_graph(&fx, vec![Node::new("maya", "character", "0.1.0")]).await;
    fx.library.delete(&id).await.unwrap();
    assert!(matches!(
        fx.library.get(&id).await,
        Err(LibraryError::NotFound(_))
    ));
    assert_eq!(stored_files(&fx.objects), 0, "bytes and thumbnail removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_racing_the_removal_of_the_same_bytes_keeps_them() {
    let fx = fixture().await;
    let png = test_png(270, 20);
    for round in 0..30 {
        let old = fx
            .library
            .create(entry(
                &fx,
                AssetKind::Image,
                "old",
                vec![image("a.png", png.clone())],
            ))
            .await
            .unwrap();
        // The last user of the bytes goes while a new asset with the same bytes arrives.
        let (deleted, created) = tokio::join!(
            fx.library.delete(&old.asset.id),
            fx.library.create(entry(
                &fx,
                AssetKind::Image,
                "new",
                vec![image("b.png", png.clone())]
            ))
        );
        deleted.unwrap();
        let new = created.unwrap();
        assert!(
            fx.library.image_details(&new).await.unwrap().is_some(),
            "round {round}: the new asset's bytes were removed under it"
        );
        assert_eq!(stored_files(&fx.objects), 2, "round {round}");
        fx.library.delete(&new.asset.id).await.unwrap();
        assert_eq!(stored_files(&fx.objects), 0, "round {round}");
    }
}

#[tokio::test]
async fn shared_bytes_stay_until_the_last_asset_goes() {
    let fx = fixture().await;
    let png = test_png(270, 20);
    let a = fx
        .library
        .create(entry(
            &fx,
            AssetKind::Image,
            "A",
            vec![image("a.png", png.clone())],
        ))
        .await
        .unwrap();
    let b = fx
        .library
        .create(entry(&fx, AssetKind::Image, "B", vec![image("b.png", png)]))
        .await
        .unwrap();
    assert_eq!(a.asset.data.object_key, b.asset.data.object_key);
    fx.library.delete(&a.asset.id).await.unwrap();
    assert_eq!(stored_files(&fx.objects), 2);
    assert!(fx.library.image_details(&b).await.unwrap().is_some());
    fx.library.delete(&b.asset.id).await.unwrap();
    assert_eq!(stored_files(&fx.objects), 0);
}

#[tokio::test]
async fn style_examples_are_image_assets_the_style_lists() {
    let fx = fixture().await;
    let noir = fx
        .library
        .create(NewEntry {
            fields: text(&[
                ("keywords", "noir, rain-slick"),
                ("palette", "#1B2A41, #c9a227"),
            ]),
            ..entry(
                &fx,
                AssetKind::Style,
                "Noir",
                vec![
                    image("street.png", test_png(64, 32)),
                    image("bar.png", test_png(32, 64)),
                ],
            )
        })
        .await
        .unwrap();
    assert!(!noir.has_image());
    let examples = noir.examples();
    assert_eq!(examples.len(), 2);
    assert_eq!(noir.fields["palette"], json!(["#1b2a41", "#c9a227"]));
    let first = fx.library.get(&examples[0]).await.unwrap();
    assert_eq!(
        (first.kind, first.asset.data.name.as_str()),
        (AssetKind::Image, "Noir · example 1")
    );

    let before = fingerprint(&fx, &noir.asset.id).await;
    let err = fx.library.delete(&examples[0]).await.unwrap_err();
    assert!(err.to_string().contains("style “Noir”"), "{err}");

    let updated = fx
        .library
        .update(
            &noir.asset.id,
            EntryChanges {
                images: Some(vec![image("dock.png", test_png(16, 16))]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let now = updated.examples();
    assert_eq!(now.len(), 1);
    assert!(!examples.contains(&now[0]));
    assert_ne!(fingerprint(&fx, &noir.asset.id).await, before);
    fx.library.delete(&examples[0]).await.unwrap();

    let err = fx
        .library
        .update(
            &noir.asset.id,
            EntryChanges {
                fields: vec![("examples".into(), json!([noir.asset.id]))],
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "style example {}: is a style, not an image asset",
            noir.asset.id
        )
    );
}

#[tokio::test]
async fn fingerprints_ignore_order_and_are_empty_without_references() {
    let fx = fixture().await;
    let a = fx
        .library
        .create(entry(&fx, AssetKind::Character, "A", vec![]))
        .await
        .unwrap()
        .asset
        .id;
    let b = fx
        .library
        .create(entry(&fx, AssetKind::Environment, "B", vec![]))
        .await
        .unwrap()
        .asset
        .id;
    let store = fx.store.as_ref();
    assert_eq!(reference_fingerprint(store, &[]).await.unwrap(), "");
    assert_eq!(
        reference_fingerprint(store, &[a.clone(), b.clone()])
            .await
            .unwrap(),
        reference_fingerprint(store, &[b.clone(), a.clone(), b])
            .await
            .unwrap()
    );
    let params = vec![
        mdc_runtime::plugin::types::ParamEntry {
            id: "asset".into(),
            value: ParamValue::AssetRef(a.clone()),
        },
        mdc_runtime::plugin::types::ParamEntry {
            id: "name".into(),
            value: ParamValue::Text("x".into()),
        },
    ];
    assert_eq!(asset_ref_ids(&params), vec![a]);
    assert_ne!(
        reference_fingerprint(store, &["unknown".into()])
            .await
            .unwrap(),
        ""
    );
}

/// An `output` asset of the fixture's project over `bytes`, as a worker writes one.
async fn output(fx: &Fixture, bytes: &[u8]) -> mdc_store::Asset {
    let sha256 = hex::encode(Sha256::digest(bytes));
    let key = content_key(&sha256);
    let objects = LocalDirStore::new(fx.objects.clone());
    mdc_store::objects::ObjectStore::put(&objects, &key, bytes.to_vec(), "image/png")
        .await
        .unwrap();
    fx.store
        .insert_asset(mdc_store::NewAsset {
            project_id: fx.project.clone(),
            kind: "output".into(),
            name: "shot-1 output".into(),
            mime: "image/png".into(),
            size: bytes.len() as i64,
            sha256,
            object_key: key,
            thumbnail_key: None,
            fields: "{}".into(),
        })
        .await
        .unwrap()
}

/// A finished execution whose take lists `asset` as its image.
async fn take_listing(fx: &Fixture, asset: &mdc_store::Asset) {
    use mdc_store::{NewExecution, Outcome, Tier};
    let digest = "sha256:shot";
    fx.store
        .enqueue(NewExecution {
            project_id: fx.project.clone(),
            node_id: "shot-1".into(),
            plugin_type: "shot".into(),
            plugin_version: "0.1.0".into(),
            plugin_digest: digest.into(),
            tier: Tier::Low,
            priority: 0,
            request: "{}".into(),
            cache_key: format!("key-{}", asset.id),
            requested_by: None,
        })
        .await
        .unwrap();
    let lease = std::time::Duration::from_secs(30);
    let claimed = fx
        .store
        .claim("w", &[Tier::Low], &[digest.to_string()], lease)
        .await
        .unwrap()
        .unwrap();
    let outputs = json!({"summary": "", "values": [
        {"port": "image", "value": {"asset": {"id": asset.id, "mime": "image/png"}}}
    ]});
    let outcome = Outcome::Succeeded {
        outputs: outputs.to_string(),
        usage: "{}".into(),
    };
    fx.store.finish(&claimed.id, "w", outcome).await.unwrap();
}

#[tokio::test]
async fn garbage_collection_removes_what_no_take_keeps_and_bytes_no_row_uses() {
    let fx = fixture().await;
    let objects = LocalDirStore::new(fx.objects.clone());
    let kept = output(&fx, b"kept by a take").await;
    take_listing(&fx, &kept).await;
    let orphan = output(&fx, b"left by a failed run").await;
    let named = output(&fx, b"named by a node").await;
    save_graph(
        &fx,
        vec![
            Node::new("shot-1", "shot", "0.1.0")
                .with_param("reference", ParamValue::AssetRef(named.id.clone())),
        ],
    )
    .await;
    // Bytes a crashed upload left without a row; bytes an upload is writing now (pinned).
    let stray = content_key(&hex::encode(Sha256::digest(b"stray")));
    let writing = content_key(&hex::encode(Sha256::digest(b"being written")));
    let pin = fx
        .store
        .pin_objects(
            std::slice::from_ref(&writing),
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
    for key in [&stray, &writing] {
        mdc_store::objects::ObjectStore::put(&objects, key, b"x".to_vec(), "image/png")
            .await
            .unwrap();
    }
    assert_eq!(stored_files(&fx.objects), 5);

    // Young outputs are never touched, whatever refers to them; stray bytes go.
    let report = collect_garbage(fx.store.as_ref(), &objects, GcOptions::default())
        .await
        .unwrap();
    assert_eq!((report.outputs, report.objects), (0, 1), "{report:?}");
    assert_eq!(stored_files(&fx.objects), 4);

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let old_enough = GcOptions {
        min_age: std::time::Duration::ZERO,
        dry_run: true,
    };
    let dry = collect_garbage(fx.store.as_ref(), &objects, old_enough)
        .await
        .unwrap();
    assert_eq!((dry.outputs, dry.output_bytes), (1, 20), "{dry:?}");
    assert_eq!(stored_files(&fx.objects), 4, "a dry run removes nothing");

    let done = collect_garbage(
        fx.store.as_ref(),
        &objects,
        GcOptions {
            dry_run: false,
            ..old_enough
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (done.outputs, done.objects, done.skipped_projects),
        (1, 1, 0),
        "{done:?}"
    );
    assert!(fx.store.asset(&orphan.id).await.is_err());
    for asset in [&kept, &named] {
        let still = fx.store.asset(&asset.id).await.unwrap();
        assert!(
            mdc_store::objects::ObjectStore::exists(&objects, &still.data.object_key)
                .await
                .unwrap()
        );
    }
    assert!(
        mdc_store::objects::ObjectStore::exists(&objects, &writing)
            .await
            .unwrap(),
        "pinned bytes stay"
    );
    // Once the upload's pin is gone, its bytes without a row go too.
    fx.store.unpin_objects(&pin).await.unwrap();
    let last = collect_garbage(fx.store.as_ref(), &objects, GcOptions::default())
        .await
        .unwrap();
    assert_eq!(last.objects, 1);
    assert_eq!(stored_files(&fx.objects), 2);
}

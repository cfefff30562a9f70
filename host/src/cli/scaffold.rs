//! `mdc plugin new`: a plugin crate that builds to a component and passes its own test.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Writes a new plugin crate for node type `name` into `dir`.
pub fn create(name: &str, dir: &Path) -> anyhow::Result<()> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || name.starts_with(['-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
        || name.ends_with('-')
    {
        bail!(
            "{name:?} is not a node type id: use lowercase letters, digits and '-', starting with a letter"
        );
    }
    if dir.exists()
        && dir
            .read_dir()
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "{} already exists and is not empty; choose another --path",
            dir.display()
        );
    }
    let struct_name: String = name
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    let files = [
        ("Cargo.toml", CARGO_TOML),
        ("src/lib.rs", LIB_RS),
        ("tests/node.rs", TEST_RS),
        ("README.md", README_MD),
        (".gitignore", "target/\n"),
    ];
    for (file, template) in files {
        let text = template
            .replace("{{name}}", name)
            .replace("{{crate}}", &name.replace('-', "_"))
            .replace("{{Struct}}", &struct_name)
            .replace("{{sdk}}", &sdk_dependency());
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().expect("files are inside dir"))
            .with_context(|| format!("cannot create {}", dir.display()))?;
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// The SDK from this source tree when it is present (a development build), the registry otherwise.
fn sdk_dependency() -> String {
    let local: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk");
    match local.canonicalize() {
        Ok(path) if path.join("Cargo.toml").is_file() => {
            format!("{{ path = {:?} }}", path.display().to_string())
        }
        _ => format!("\"{}\"", env!("CARGO_PKG_VERSION")),
    }
}

const CARGO_TOML: &str = r#"[package]
name = "{{name}}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
# cdylib: the WebAssembly component; rlib: lets `cargo test` call the node natively.
crate-type = ["cdylib", "rlib"]

[dependencies]
mdc-sdk = {{sdk}}

[profile.release]
opt-level = "s"
lto = true
strip = true

# A standalone crate, even when created inside another workspace.
[workspace]
"#;

const LIB_RS: &str = r#"//! The `{{name}}` node for Movie Director Canvas.

use mdc_sdk::prelude::*;

/// Repeats its prompt, reporting progress as it goes.
pub struct {{Struct}};

impl Node for {{Struct}} {
    fn describe() -> NodeDescriptor {
        NodeDescriptor::new("{{name}}", "0.1.0", "{{Struct}}")
            .category("Custom")
            .docs("Repeats its **prompt**. Replace this with what your node does.")
            .output(Port::one("text", "Text", "text"))
            .param(Param::text("prompt", "Prompt").default("hello").required())
            .param(Param::integer("times", "Times", 1..=10).default(2))
    }

    fn execute(input: NodeInput) -> Result<NodeOutputs, NodeError> {
        let prompt = input.text("prompt").unwrap_or_default().to_string();
        let times = input.integer("times").unwrap_or(1).max(1) as usize;
        let mut parts = Vec::with_capacity(times);
        for i in 0..times {
            if host::is_cancelled() {
                return Err(NodeError::cancelled());
            }
            parts.push(prompt.clone());
            host::progress((i + 1) as f32 / times as f32, &format!("{} of {times}", i + 1));
        }
        Ok(NodeOutputs::new().with("text", parts.join(" ")).summary(format!("{times} repeats")))
    }
}

mdc_sdk::export_node!({{Struct}});
"#;

const TEST_RS: &str = r#"//! Runs the node natively with the SDK's fake host.

use mdc_sdk::testing::{InputBuilder, TestHost};
use {{crate}}::{{Struct}};

#[test]
fn repeats_the_prompt_and_reports_progress() {
    let host = TestHost::new();
    let outputs = host
        .execute::<{{Struct}}>(InputBuilder::new().param("prompt", "cut").param("times", 3i64))
        .unwrap();
    assert_eq!(outputs.get("text").and_then(|v| v.as_text()), Some("cut cut cut"));
    assert_eq!(host.progress().len(), 3);
}

#[test]
fn flags_a_count_outside_its_range() {
    let diagnostics = TestHost::new().validate::<{{Struct}}>(InputBuilder::new().param("times", 99i64));
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].field.as_deref(), Some("times"));
}
"#;

const README_MD: &str = r#"# {{name}}

A node plugin for Movie Director Canvas.

```sh
cargo test                                   # runs the node with the SDK's fake host
mdc plugin build                             # builds target/wasm32-wasip2/release/{{crate}}.wasm and checks it loads
mdc plugin run target/wasm32-wasip2/release/{{crate}}.wasm --params '{"prompt": "action"}'
```
"#;

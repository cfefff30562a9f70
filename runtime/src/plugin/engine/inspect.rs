//! A quick look inside a component before compiling it: is it a component, which contract
//! version does it export, which interfaces does it import. Reads only the outer sections.

use wasmparser::{Chunk, Encoding, Parser, Payload};

/// The package every node interface belongs to.
pub const NODE_PACKAGE: &str = "moviedirector:node";

/// What the outer sections of a component say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentFacts {
    /// Version of the exported `moviedirector:node/node` interface, if any.
    pub contract_version: Option<String>,
    /// Names of every top-level import (`wasi:cli/stdout@0.2.6`, `moviedirector:node/http@0.1.0`).
    pub imports: Vec<String>,
    /// Names of every top-level export.
    pub exports: Vec<String>,
}

/// Why the bytes are not a component worth compiling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InspectError {
    /// Not a WebAssembly binary.
    NotWasm(String),
    /// A core module.
    CoreModule,
    /// The outer sections could not be read.
    Malformed(String),
}

impl ComponentFacts {
    /// Whether the component imports an interface of our contract (`host`, `http`, …).
    pub fn imports_node_interface(&self, interface: &str) -> bool {
        let prefix = format!("{NODE_PACKAGE}/{interface}");
        self.imports
            .iter()
            .any(|name| name == &prefix || name.starts_with(&format!("{prefix}@")))
    }
}

/// Reads the outer sections of `bytes`, skipping nested modules and components.
pub fn inspect(bytes: &[u8]) -> Result<ComponentFacts, InspectError> {
    if bytes.len() < 8 || &bytes[0..4] != b"\0asm" {
        return Err(InspectError::NotWasm(if bytes.is_empty() {
            "the file is empty".to_string()
        } else {
            "it does not start with the WebAssembly magic bytes".to_string()
        }));
    }
    let mut facts = ComponentFacts {
        contract_version: None,
        imports: Vec::new(),
        exports: Vec::new(),
    };
    let mut parser = Parser::new(0);
    let mut offset = 0;
    loop {
        let chunk = parser
            .parse(&bytes[offset..], true)
            .map_err(|err| InspectError::Malformed(err.to_string()))?;
        let (consumed, payload) = match chunk {
            Chunk::Parsed { consumed, payload } => (consumed, payload),
            Chunk::NeedMoreData(_) => {
                return Err(InspectError::Malformed("the file is truncated".into()));
            }
        };
        offset += consumed;
        match payload {
            Payload::Version {
                encoding: Encoding::Module,
                ..
            } => return Err(InspectError::CoreModule),
            Payload::ModuleSection {
                unchecked_range, ..
            }
            | Payload::ComponentSection {
                unchecked_range, ..
            } => {
                // Nested code is validated by the compiler; the outer parser resumes after it.
                if unchecked_range.end > bytes.len() {
                    return Err(InspectError::Malformed("the file is truncated".into()));
                }
                offset = unchecked_range.end;
            }
            Payload::ComponentImportSection(reader) => {
                for import in reader {
                    let import = import.map_err(|err| InspectError::Malformed(err.to_string()))?;
                    facts.imports.push(import.name.name.to_string());
                }
            }
            Payload::ComponentExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(|err| InspectError::Malformed(err.to_string()))?;
                    let name = export.name.name.to_string();
                    if let Some(version) = name.strip_prefix(&format!("{NODE_PACKAGE}/node@")) {
                        facts.contract_version = Some(version.to_string());
                    }
                    facts.exports.push(name);
                }
            }
            Payload::End(_) => break,
            _ => {}
        }
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bytes_that_are_not_wasm() {
        assert!(matches!(
            inspect(b"PNG\x0d\x0a not wasm"),
            Err(InspectError::NotWasm(_))
        ));
        assert!(matches!(inspect(b""), Err(InspectError::NotWasm(_))));
    }

    #[test]
    fn recognises_a_core_module() {
        let module = wat::parse_str("(module (func (export \"f\")))").unwrap();
        assert_eq!(inspect(&module), Err(InspectError::CoreModule));
    }

    #[test]
    fn reads_exports_of_a_component() {
        let component = wat::parse_str(
            r#"(component
                (import "moviedirector:node/http@0.1.0" (instance))
                (instance $i)
                (export "moviedirector:node/node@0.1.0" (instance $i)))"#,
        )
        .unwrap();
        let facts = inspect(&component).unwrap();
        assert_eq!(facts.contract_version.as_deref(), Some("0.1.0"));
        assert!(facts.imports_node_interface("http"));
        assert!(!facts.imports_node_interface("assets"));
    }

    #[test]
    fn reports_a_truncated_file() {
        let component =
            wat::parse_str("(component (instance $i) (export \"x\" (instance $i)))").unwrap();
        assert!(matches!(
            inspect(&component[..component.len() - 3]),
            Err(InspectError::Malformed(_))
        ));
    }
}

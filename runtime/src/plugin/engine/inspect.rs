//! A quick look inside a component before compiling it: is it a component, which contract
//! version does it export, which interfaces does it import, how much code would compile.
//! Reads the outer sections, and of nested core modules only their section headers.

use wasmparser::{Chunk, Encoding, Parser, Payload};

/// The package every node interface belongs to.
pub const NODE_PACKAGE: &str = "moviedirector:node";

/// Most core functions, over all core modules, this host compiles. First-party components
/// define about 1,000 (`shot`, the largest, 1,055); a debug build a few times that.
/// Compilation time and memory grow with the count, so 200,000 leaves a wide margin for real
/// code while a generated component with millions of tiny functions is refused unread.
pub const MAX_CORE_FUNCTIONS: u64 = 200_000;

/// Most bytes of function bodies, over all core modules, this host compiles. First-party
/// components carry under 1 MiB (`shot`: 737 KB); 48 MiB is fifty times a large plugin.
pub const MAX_CODE_BYTES: u64 = 48 << 20;

/// What the outer sections of a component say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentFacts {
    /// Version of the exported `moviedirector:node/node` interface, if any.
    pub contract_version: Option<String>,
    /// Names of every top-level import (`wasi:cli/stdout@0.2.6`, `moviedirector:node/http@0.1.0`).
    pub imports: Vec<String>,
    /// Names of every top-level export.
    pub exports: Vec<String>,
    /// Core functions defined over all core modules (nested components included).
    pub core_functions: u64,
    /// Bytes of function bodies over all core modules.
    pub code_bytes: u64,
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
    /// More code than this host compiles: the sentence names the bound.
    TooMuchCode(String),
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
        core_functions: 0,
        code_bytes: 0,
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
                count_code(&bytes[unchecked_range.clone()], &mut facts)?;
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

/// Adds the functions and code bytes of a nested core module or component to `facts`,
/// reading only section headers (code sections are skipped, not parsed), and refuses as soon
/// as a bound is passed.
fn count_code(bytes: &[u8], facts: &mut ComponentFacts) -> Result<(), InspectError> {
    let truncated = || InspectError::Malformed("the file is truncated".into());
    // Each open module or component: its parser and where its bytes end.
    let mut stack = vec![(Parser::new(0), bytes.len())];
    let mut offset = 0;
    while let Some((parser, end)) = stack.last_mut() {
        let end = *end;
        let chunk = parser
            .parse(bytes.get(offset..end).ok_or_else(truncated)?, true)
            .map_err(|err| InspectError::Malformed(err.to_string()))?;
        let Chunk::Parsed { consumed, payload } = chunk else {
            return Err(truncated());
        };
        offset += consumed;
        match payload {
            Payload::CodeSectionStart { count, size, .. } => {
                facts.core_functions += u64::from(count);
                facts.code_bytes += u64::from(size);
                check_code_bounds(facts)?;
                parser.skip_section();
                offset += size as usize;
            }
            Payload::ModuleSection {
                parser,
                unchecked_range,
            }
            | Payload::ComponentSection {
                parser,
                unchecked_range,
            } => {
                if unchecked_range.end > end {
                    return Err(truncated());
                }
                stack.push((parser, unchecked_range.end));
            }
            Payload::End(_) => {
                stack.pop();
            }
            _ => {}
        }
    }
    Ok(())
}

/// Refuses code past [`MAX_CORE_FUNCTIONS`] or [`MAX_CODE_BYTES`].
fn check_code_bounds(facts: &ComponentFacts) -> Result<(), InspectError> {
    if facts.core_functions > MAX_CORE_FUNCTIONS {
        return Err(InspectError::TooMuchCode(format!(
            "it defines at least {} core functions; at most {MAX_CORE_FUNCTIONS} are compiled",
            facts.core_functions
        )));
    }
    if facts.code_bytes > MAX_CODE_BYTES {
        return Err(InspectError::TooMuchCode(format!(
            "it holds at least {} bytes of code; at most {MAX_CODE_BYTES} are compiled",
            facts.code_bytes
        )));
    }
    Ok(())
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

    /// A component of `modules` core modules, each defining `functions` empty functions.
    fn component_with_functions(modules: usize, functions: usize) -> Vec<u8> {
        let module = format!("(core module {})", "(func)".repeat(functions));
        wat::parse_str(format!("(component {})", module.repeat(modules))).unwrap()
    }

    #[test]
    fn counts_functions_and_code_over_every_core_module() {
        let facts = inspect(&component_with_functions(3, 1000)).unwrap();
        assert_eq!(facts.core_functions, 3000);
        // An empty body is three bytes: its size, no locals, `end`.
        assert_eq!(facts.code_bytes, 3 * 3000);
    }

    #[test]
    fn refuses_more_functions_than_the_bound_over_several_modules() {
        let per_module = MAX_CORE_FUNCTIONS as usize / 2 + 1;
        let err = inspect(&component_with_functions(2, per_module)).unwrap_err();
        assert_eq!(
            err,
            InspectError::TooMuchCode(format!(
                "it defines at least {} core functions; at most 200000 are compiled",
                2 * per_module
            ))
        );
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

//! Well-behaved test node `echo` (built with mdc-sdk): exercises logging, progress, stdio, asset reads, output writes and an action.

use mdc_sdk::prelude::*;

/// Echoes its `message` parameter `repeat` times.
pub struct Echo;

impl Node for Echo {
    fn describe() -> NodeDescriptor {
        NodeDescriptor::new("echo", "0.1.0", "Echo")
            .category("Testing")
            .icon("repeat")
            .docs("Repeats **message** `repeat` times, after the connected text if any.")
            .input(
                Port::one("text", "Text", "text")
                    .help("Text (or a text asset) put before the message."),
            )
            .output(Port::one("text", "Text", "text").help("The repeated message."))
            .output(Port::one("file", "File", "image").help("The repeated message as a file."))
            .param(
                Param::text("message", "Message")
                    .default("hello")
                    .help("What to repeat."),
            )
            .param(
                Param::integer("repeat", "Repeat", 1..=10)
                    .default(1)
                    .help("How many times."),
            )
            .tier(TierEstimate::new(QualityTier::Low).seconds(0.1))
            .action(
                "split",
                "Split Into Words",
                "Creates one echo node per word of the message.",
            )
            .capability(Capability::OutputWrite)
            .capability(Capability::AssetRead)
    }

    fn execute(input: NodeInput) -> Result<NodeOutputs, NodeError> {
        host::progress(0.0, "starting");
        let message = input.text("message").unwrap_or("hello");
        let repeat = input.integer("repeat").unwrap_or(1);
        if !(1..=10).contains(&repeat) {
            return Err(NodeError::invalid_input(format!(
                "repeat must be between 1 and 10, got {repeat}"
            )));
        }
        let repeated = vec![message; repeat as usize].join(" ");

        let prefix = match input.connected_value("text") {
            Some(Value::Asset(asset)) => {
                let bytes = host::read_asset(&asset.id).map_err(NodeError::failed)?;
                Some(String::from_utf8_lossy(&bytes).into_owned())
            }
            Some(value) => value.as_text().map(str::to_owned),
            None => None,
        };
        let text = match prefix {
            Some(prefix) => format!("{prefix} {repeated}"),
            None => repeated.clone(),
        };

        host::info(&format!("echo: repeating `{message}` {repeat} time(s)"));
        println!("echo stdout: {text}");
        eprintln!("echo stderr: {text}");
        host::progress(0.5, "writing output");

        let file =
            host::write_output("text/plain", repeated.as_bytes()).map_err(NodeError::failed)?;
        host::progress(1.0, "done");
        Ok(NodeOutputs::new()
            .with("text", text)
            .with("file", AssetRef::new(file, "text/plain"))
            .summary(format!("{repeat} repetition(s)")))
    }

    fn run_action(action: &str, input: ActionInput) -> Result<GraphPatch, NodeError> {
        if action != "split" {
            return Err(NodeError::unsupported(format!(
                "echo has no action `{action}`"
            )));
        }
        let this = input.node.node_id.as_str();
        let message = input.node.text("message").unwrap_or("hello");
        let mut patch = GraphPatch::new();
        let mut count = 0;
        for (index, word) in message.split_whitespace().enumerate() {
            let id = format!("word-{index}");
            patch = patch
                .upsert_node(
                    PatchNode::new(&id, "echo", word)
                        .at(300.0, 120.0 * index as f64)
                        .param("message", word),
                )
                .upsert_edge(PatchEdge::new(
                    format!("edge-{id}"),
                    this,
                    "text",
                    &id,
                    "text",
                ));
            count += 1;
        }
        Ok(patch.summary(format!("{count} word node(s)")))
    }
}

mdc_sdk::export_node!(Echo);

#[cfg(test)]
mod tests {
    use super::Echo;
    use mdc_sdk::prelude::*;
    use mdc_sdk::testing::{InputBuilder, TestAsset, TestHost};

    #[test]
    fn echoes_with_a_connected_asset() {
        let host = TestHost::new().asset(TestAsset::new("t1", "text/plain", "from asset"));
        let input = InputBuilder::new()
            .param("message", "hey")
            .param("repeat", 2)
            .connect("text", Value::asset("t1", "text/plain"));
        let out = host.execute::<Echo>(input).unwrap();
        assert_eq!(
            out.get("text").and_then(Value::as_text),
            Some("from asset hey hey")
        );
        assert_eq!(host.outputs()[0].bytes, b"hey hey");
        let fractions: Vec<f32> = host.progress().iter().map(|p| p.0).collect();
        assert_eq!(fractions, [0.0, 0.5, 1.0]);
    }

    #[test]
    fn split_makes_one_node_per_word() {
        let input = InputBuilder::new().node_id("e").param("message", "a b c");
        let patch = TestHost::new().run_action::<Echo>("split", input).unwrap();
        let ids: Vec<_> = patch.upsert_nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["word-0", "word-1", "word-2"]);
        assert!(patch.upsert_edges.iter().all(|e| e.source == "e"));
    }
}

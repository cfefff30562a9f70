//! Following a ComfyUI prompt live on ComfyUI's WebSocket (`GET /ws?clientId=<id>`).
//!
//! A prompt queued with `client_id: <id>` has its events sent to the socket opened with
//! that client id: `execution_start`, `execution_cached` (`nodes` reused from the last run),
//! `executing` (`node` now running), `progress` (`value` of `max` steps of `node`, throttled
//! by ComfyUI: the first and the last step always come), `progress_state`, `executed`, then
//! `execution_success`, `execution_error` or `execution_interrupted`, and at the very end
//! `executing` with `node: null`. Binary frames `[u32 BE 1][u32 BE format: 1 JPEG, 2 PNG]
//! [image]` are previews of the running sampler. Events of prompts queued without a client
//! id (a script, another tool) go to every socket, so every event is checked against our
//! prompt id, and an event or preview that names no prompt counts only while ours runs.
//!
//! The socket brings progress; the outcome still comes from `/history`. While the socket is
//! quiet the prompt is also polled now and then ([`crate::comfyui::Poller`]), for the queue
//! position before it starts and in case the socket stays silent (a proxy that drops
//! events): polling then ends the wait as it does without a socket.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use mdc_sdk::host;
use mdc_sdk::live::{self, Message, SocketEvent, WebSocket};
use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{self, Value as Json};

use crate::comfyui::{ComfyUi, Outcome, Poller, Queued, RUNNING_CAP};
use crate::net::{self, NetError};
use crate::workflow::Workflow;

/// Longest wait for one socket event: how often cancellation is checked while ComfyUI is
/// silent.
const RECEIVE_WAIT: Duration = Duration::from_millis(250);
/// Longest wait for the WebSocket handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the queue is polled while our prompt waits (for its position).
const POLL_PENDING: Duration = Duration::from_secs(1);
/// How often the prompt is polled while it runs and the socket is quiet.
const POLL_RUNNING: Duration = Duration::from_secs(5);
/// Where the running range of the fraction starts (after uploads and queueing).
const RUNNING_FROM: f32 = 0.1;

/// A lowercase hyphenated UUID (version 4 layout) derived from `seed_text` and `attempt`:
/// the same inputs give the same id, so a run is reproducible from its inputs.
pub fn prompt_id(seed_text: &str, attempt: u32) -> String {
    let hash = |offset: u64| {
        let mut h = offset;
        for byte in seed_text.bytes().chain(attempt.to_le_bytes()) {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        mix(h)
    };
    let (high, low) = (hash(0xcbf2_9ce4_8422_2325), hash(0x6c62_272e_07bb_0142));
    let high = (high & !0xf000) | 0x4000; // version 4
    let low = (low & !(0b11 << 62)) | (0b10 << 62); // RFC 4122 variant
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xffff,
        low >> 48,
        low & 0xffff_ffff_ffff
    )
}

/// SplitMix64's finaliser: every input bit reaches every output bit.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The WebSocket URL of the ComfyUI at `base` for `client_id`: `ws://…/ws?clientId=…`
/// (`wss://` for an `https://` base), under the same path prefix.
pub fn socket_url(base: &str, client_id: &str) -> String {
    let origin = match base.strip_prefix("https://") {
        Some(rest) => format!("wss://{rest}"),
        None => format!("ws://{}", base.strip_prefix("http://").unwrap_or(base)),
    };
    format!("{origin}/ws{}", net::query(&[("clientId", client_id)]))
}

/// Opens ComfyUI's WebSocket for `client_id`; `None`, after saying why once, when it cannot
/// be opened (a server or proxy without WebSockets): the prompt is then followed by polling.
pub fn connect(server: &ComfyUi, client_id: &str) -> Option<WebSocket> {
    let url = socket_url(server.client().base(), client_id);
    match live::connect(&url, &[], CONNECT_TIMEOUT) {
        Ok(socket) => Some(socket),
        Err(err) => {
            host::info(&format!(
                "the WebSocket of {} could not be opened ({}); following the prompt by \
                 polling, without step progress",
                server.name(),
                NetError::from(err).short()
            ));
            None
        }
    }
}

/// How following the socket ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Followed {
    /// ComfyUI said our prompt is over (`executing` with `node: null`): read the history.
    Ended,
    /// A poll found the outcome first.
    Done(Outcome),
    /// The socket closed or failed before the end (why): go on by polling.
    Lost(String),
}

/// Follows prompt `queued` on `socket` until ComfyUI says it is over, reporting step
/// progress and the node running, and showing previews. Cancels the prompt when the user
/// cancels (checked before every wait). `expected` is only used by the polls' estimate while
/// no event of ours has arrived.
pub fn follow(
    server: &ComfyUi,
    socket: &WebSocket,
    queued: &Queued,
    workflow: &Workflow,
    expected: Duration,
) -> Result<Followed, NodeError> {
    let mut tracker = Tracker::new(&queued.prompt_id, workflow);
    let mut poller = Poller::new(server, &queued.prompt_id, expected);
    let mut last_poll: Option<Instant> = None;
    loop {
        if host::is_cancelled() {
            server.cancel(&queued.prompt_id);
            return Err(NodeError::cancelled());
        }
        match socket.receive(RECEIVE_WAIT) {
            Ok(SocketEvent::Message(Message::Text(text))) => {
                if let Some(update) = Event::parse(&text).and_then(|e| tracker.apply(&e)) {
                    host::progress(update.fraction, &update.message);
                }
                if tracker.ended() {
                    return Ok(Followed::Ended);
                }
            }
            Ok(SocketEvent::Message(Message::Binary(frame))) => {
                if tracker.running()
                    && let Some((mime, image)) = preview_image(&frame)
                {
                    live::preview(mime, image);
                }
            }
            Ok(SocketEvent::Idle) => {
                let every = if tracker.started() {
                    POLL_RUNNING
                } else {
                    POLL_PENDING
                };
                if last_poll.is_none_or(|at| at.elapsed() >= every) {
                    last_poll = Some(Instant::now());
                    if let Some(outcome) = poller.poll(!tracker.started())? {
                        return Ok(Followed::Done(outcome));
                    }
                }
            }
            Ok(SocketEvent::Closed(reason)) => {
                return Ok(Followed::Lost(match reason {
                    Some(reason) if !reason.trim().is_empty() => format!("closed: {reason}"),
                    _ => "closed by the server".to_owned(),
                }));
            }
            Err(err) => return Ok(Followed::Lost(NetError::from(err).short())),
        }
    }
}

/// The image of a binary preview frame: `[u32 BE 1][u32 BE 1 JPEG | 2 PNG][bytes]`; other
/// binary events (unencoded previews, text) are not previews to show.
pub fn preview_image(frame: &[u8]) -> Option<(&'static str, &[u8])> {
    let word = |at: usize| {
        frame
            .get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    if word(0)? != 1 {
        return None;
    }
    let mime = match word(4)? {
        1 => "image/jpeg",
        2 => "image/png",
        _ => return None,
    };
    let image = &frame[8..];
    (!image.is_empty()).then_some((mime, image))
}

/// A WebSocket event ComfyUI sends, as far as following a prompt needs it. `prompt_id` is
/// `None` where the event names none (older servers' `progress`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `execution_start`.
    Start {
        /// The prompt.
        prompt_id: Option<String>,
    },
    /// `execution_cached`: nodes reused from the previous run.
    Cached {
        /// The prompt.
        prompt_id: Option<String>,
        /// The node ids.
        nodes: Vec<String>,
    },
    /// `executing`: `node` runs now; `None` is the end of the prompt.
    Executing {
        /// The prompt.
        prompt_id: Option<String>,
        /// The node, or `None` at the end.
        node: Option<String>,
    },
    /// `progress`: `value` of `max` steps done in `node`.
    Progress {
        /// The prompt.
        prompt_id: Option<String>,
        /// The node reporting.
        node: Option<String>,
        /// Steps done.
        value: u64,
        /// Steps in all.
        max: u64,
    },
    /// `execution_success`, `execution_error` or `execution_interrupted`.
    Finished {
        /// The prompt.
        prompt_id: Option<String>,
    },
    /// Anything else (`status`, `progress_state`, `executed`, …).
    Other,
}

impl Event {
    /// Reads one text message `{"type": …, "data": {…}}`; `None` when it is not JSON.
    pub fn parse(text: &str) -> Option<Event> {
        let message: Json = serde_json::from_str(text).ok()?;
        let data = message.get("data").cloned().unwrap_or(Json::Null);
        let text_of = |key: &str| match data.get(key) {
            Some(Json::String(s)) => Some(s.clone()),
            Some(Json::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let prompt_id = text_of("prompt_id");
        Some(match message.get("type").and_then(Json::as_str)? {
            "execution_start" => Event::Start { prompt_id },
            "execution_cached" => Event::Cached {
                prompt_id,
                nodes: data
                    .get("nodes")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|n| n.as_str().map(str::to_owned))
                    .collect(),
            },
            "executing" => Event::Executing {
                prompt_id,
                node: text_of("node"),
            },
            "progress" => Event::Progress {
                prompt_id,
                node: text_of("node"),
                value: data.get("value").and_then(Json::as_u64).unwrap_or(0),
                max: data.get("max").and_then(Json::as_u64).unwrap_or(0),
            },
            "execution_success" | "execution_error" | "execution_interrupted" => {
                Event::Finished { prompt_id }
            }
            _ => Event::Other,
        })
    }

    fn prompt_id(&self) -> Option<&str> {
        match self {
            Event::Start { prompt_id }
            | Event::Cached { prompt_id, .. }
            | Event::Executing { prompt_id, .. }
            | Event::Progress { prompt_id, .. }
            | Event::Finished { prompt_id } => prompt_id.as_deref(),
            Event::Other => None,
        }
    }
}

/// A progress report for the host.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// The overall fraction (never lower than the one before).
    pub fraction: f32,
    /// `step 12/30 on KSampler`.
    pub message: String,
}

/// What our prompt has done so far, from its events; turns them into progress.
///
/// The fraction runs from 10 % (started) to 90 % (downloading takes the rest). Time goes
/// into the nodes that step (samplers, known from the workflow, plus any other node that
/// reports steps), so each of them gets an equal share and its steps move the fraction
/// through it; a workflow with no stepping node moves by nodes run instead.
#[derive(Debug)]
pub struct Tracker<'w> {
    prompt_id: String,
    workflow: &'w Workflow,
    started: bool,
    ended: bool,
    cached: BTreeSet<String>,
    /// Stepping nodes still expected to run.
    stepping: BTreeSet<String>,
    /// Nodes that reported steps and are finished.
    stepped: BTreeSet<String>,
    /// The node that runs now and the steps it reported.
    current: Option<(String, Option<(u64, u64)>)>,
    nodes_run: usize,
    fraction: f32,
}

impl<'w> Tracker<'w> {
    /// A tracker for prompt `prompt_id` of `workflow`.
    pub fn new(prompt_id: &str, workflow: &'w Workflow) -> Tracker<'w> {
        Tracker {
            prompt_id: prompt_id.to_owned(),
            workflow,
            started: false,
            ended: false,
            cached: BTreeSet::new(),
            stepping: workflow
                .stepping_nodes()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            stepped: BTreeSet::new(),
            current: None,
            nodes_run: 0,
            fraction: 0.0,
        }
    }

    /// Whether our prompt started on ComfyUI.
    pub fn started(&self) -> bool {
        self.started
    }

    /// Whether it runs now (started, not over): when previews, which name no prompt, are ours.
    pub fn running(&self) -> bool {
        self.started && !self.ended
    }

    /// Whether ComfyUI said it is over.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Takes one event into account; the progress to report, if any. Events of other
    /// prompts change nothing.
    pub fn apply(&mut self, event: &Event) -> Option<Update> {
        match event.prompt_id() {
            Some(id) if id != self.prompt_id => return None,
            None if !self.running() => return None,
            _ => {}
        }
        match event {
            Event::Start { .. } => {
                self.started = true;
                self.report("running on ComfyUI".to_owned())
            }
            Event::Cached { nodes, .. } => {
                self.started = true;
                self.cached.extend(nodes.iter().cloned());
                for node in nodes {
                    self.stepping.remove(node);
                }
                (!nodes.is_empty()).then(|| {
                    let n = nodes.len();
                    let s = if n == 1 { "" } else { "s" };
                    self.report(format!(
                        "running on ComfyUI ({n} node{s} reused from the cache)"
                    ))
                })?
            }
            Event::Executing { node: None, .. } => {
                self.finish_current();
                self.ended = true;
                None
            }
            Event::Executing {
                node: Some(node), ..
            } => {
                self.started = true;
                self.finish_current();
                self.current = Some((node.clone(), None));
                self.report(format!("running {}", self.workflow.label_of(node)))
            }
            Event::Progress {
                node, value, max, ..
            } => {
                self.started = true;
                let node = node
                    .clone()
                    .or_else(|| self.current.as_ref().map(|(n, _)| n.clone()))?;
                if self.current.as_ref().is_none_or(|(n, _)| *n != node) {
                    self.finish_current();
                }
                self.current = Some((node.clone(), Some((*value, *max))));
                self.report(format!(
                    "step {value}/{max} on {}",
                    self.workflow.label_of(&node)
                ))
            }
            Event::Finished { .. } | Event::Other => None,
        }
    }

    /// Counts the node that ran until now as done.
    fn finish_current(&mut self) {
        if let Some((node, steps)) = self.current.take() {
            self.nodes_run += 1;
            if steps.is_some() {
                self.stepping.remove(&node);
                self.stepped.insert(node);
            }
        }
    }

    /// The share of the run done, 0 to 1.
    fn share(&self) -> f32 {
        let current_steps = match &self.current {
            Some((node, Some((value, max)))) if *max > 0 => {
                let done = (*value).min(*max) as f32 / *max as f32;
                Some((node, done))
            }
            Some((node, Some(_))) => Some((node, 0.0)),
            _ => None,
        };
        let pending = self
            .stepping
            .iter()
            .filter(|n| current_steps.is_none_or(|(c, _)| c != *n))
            .count();
        let units = self.stepped.len() + pending + usize::from(current_steps.is_some());
        if units > 0 {
            let done = self.stepped.len() as f32 + current_steps.map_or(0.0, |(_, d)| d);
            return done / units as f32;
        }
        let to_run = self
            .workflow
            .node_ids()
            .len()
            .saturating_sub(self.cached.len())
            .max(1);
        self.nodes_run as f32 / to_run as f32
    }

    /// An update at the current share, never below the last fraction.
    fn report(&mut self, message: String) -> Option<Update> {
        let fraction = (RUNNING_FROM + (RUNNING_CAP - RUNNING_FROM) * self.share())
            .clamp(RUNNING_FROM, RUNNING_CAP)
            .max(self.fraction);
        self.fraction = fraction;
        Some(Update { fraction, message })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mdc_sdk::serde_json::json;
    use mdc_sdk::testing::{InputBuilder, TestHost, TestSocket};

    const OURS: &str = "2f1c3b7e-0d7e-4a51-9a0e-5b7a3d0c9e11";
    const THEIRS: &str = "9c0a1d2e-3f40-4a51-8b62-7c83d94ea5f6";

    fn workflow() -> Workflow {
        Workflow::from_json(&json!({
            "3": {"class_type": "KSampler", "_meta": {"title": "KSampler"}, "inputs": {"seed": 1}},
            "4": {"class_type": "CheckpointLoaderSimple", "inputs": {}},
            "8": {"class_type": "VAEDecode", "_meta": {"title": "VAE Decode"}, "inputs": {}},
            "9": {"class_type": "SaveImage", "inputs": {}}
        }))
        .unwrap()
    }

    fn text(kind: &str, data: Json) -> String {
        json!({"type": kind, "data": data}).to_string()
    }

    fn progress(prompt: &str, value: u64, max: u64) -> String {
        text(
            "progress",
            json!({"value": value, "max": max, "prompt_id": prompt, "node": "3"}),
        )
    }

    #[test]
    fn prompt_ids_are_lowercase_version_4_uuids_that_differ_by_attempt() {
        let id = prompt_id("{\"3\":{}}", 0);
        assert_eq!(id.len(), 36);
        let groups: Vec<&str> = id.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(
            id.chars()
                .all(|c| c == '-' || matches!(c, '0'..='9' | 'a'..='f'))
        );
        assert!(groups[2].starts_with('4'), "{id}");
        assert!("89ab".contains(&groups[3][..1]), "{id}");
        assert_eq!(id, prompt_id("{\"3\":{}}", 0), "reproducible");
        assert_ne!(id, prompt_id("{\"3\":{}}", 1));
        assert_ne!(id, prompt_id("{\"3\":{ }}", 0));
    }

    #[test]
    fn socket_urls_keep_the_origin_and_prefix() {
        assert_eq!(
            socket_url("http://127.0.0.1:8188", "a b"),
            "ws://127.0.0.1:8188/ws?clientId=a%20b"
        );
        assert_eq!(
            socket_url("https://gpu.studio/comfy", "c1"),
            "wss://gpu.studio/comfy/ws?clientId=c1"
        );
    }

    #[test]
    fn steps_move_the_fraction_through_the_samplers_share_and_names_the_node() {
        let wf = workflow();
        let mut tracker = Tracker::new(OURS, &wf);
        let apply = |t: &mut Tracker, s: String| t.apply(&Event::parse(&s).unwrap());
        let start = apply(
            &mut tracker,
            text("execution_start", json!({"prompt_id": OURS})),
        );
        assert_eq!(start.unwrap().fraction, 0.1);
        let loading = apply(
            &mut tracker,
            text(
                "executing",
                json!({"node": "4", "display_node": "4", "prompt_id": OURS}),
            ),
        )
        .unwrap();
        assert_eq!(loading.message, "running CheckpointLoaderSimple");
        assert_eq!(loading.fraction, 0.1, "only the sampler's steps take time");
        let sampling = apply(
            &mut tracker,
            text("executing", json!({"node": "3", "prompt_id": OURS})),
        );
        assert_eq!(sampling.unwrap().message, "running KSampler");
        let half = apply(&mut tracker, progress(OURS, 15, 30)).unwrap();
        assert_eq!(half.message, "step 15/30 on KSampler");
        assert!((half.fraction - 0.5).abs() < 1e-6, "{}", half.fraction);
        let last = apply(&mut tracker, progress(OURS, 30, 30)).unwrap();
        assert!((last.fraction - 0.9).abs() < 1e-6);
        let decode = apply(
            &mut tracker,
            text("executing", json!({"node": "8", "prompt_id": OURS})),
        )
        .unwrap();
        assert_eq!(
            (decode.message.as_str(), decode.fraction),
            ("running VAE Decode", last.fraction)
        );
        assert!(tracker.running());
        apply(
            &mut tracker,
            text("execution_success", json!({"prompt_id": OURS})),
        );
        assert!(!tracker.ended());
        apply(
            &mut tracker,
            text("executing", json!({"node": null, "prompt_id": OURS})),
        );
        assert!(tracker.ended() && !tracker.running());
    }

    #[test]
    fn events_of_other_prompts_and_unnamed_events_before_ours_starts_are_ignored() {
        let wf = workflow();
        let mut tracker = Tracker::new(OURS, &wf);
        let mut apply = |s: String| tracker.apply(&Event::parse(&s).unwrap());
        assert_eq!(apply(progress(THEIRS, 3, 7)), None);
        assert_eq!(
            apply(text(
                "executing",
                json!({"node": null, "prompt_id": THEIRS})
            )),
            None
        );
        assert_eq!(
            apply(text("progress", json!({"value": 1, "max": 7, "node": "3"}))),
            None,
            "no prompt id and ours has not started"
        );
        assert_eq!(
            apply(text(
                "status",
                json!({"status": {"exec_info": {"queue_remaining": 2}}})
            )),
            None
        );
        assert!(!tracker.started() && !tracker.ended());
    }

    #[test]
    fn a_cached_rerun_ends_without_steps_and_a_stepless_workflow_moves_by_nodes() {
        let wf = workflow();
        let mut tracker = Tracker::new(OURS, &wf);
        let mut apply = |s: String| tracker.apply(&Event::parse(&s).unwrap());
        apply(text("execution_start", json!({"prompt_id": OURS})));
        let cached = apply(text(
            "execution_cached",
            json!({"nodes": ["3", "4", "8", "9"], "prompt_id": OURS}),
        ))
        .unwrap();
        assert_eq!(
            cached.message,
            "running on ComfyUI (4 nodes reused from the cache)"
        );
        apply(text("executing", json!({"node": null, "prompt_id": OURS})));
        assert!(tracker.ended());

        let stepless = Workflow::from_json(&json!({
            "1": {"class_type": "EmptyImage", "inputs": {}},
            "2": {"class_type": "SaveImage", "inputs": {}}
        }))
        .unwrap();
        let mut tracker = Tracker::new(OURS, &stepless);
        let mut apply = |s: String| tracker.apply(&Event::parse(&s).unwrap());
        apply(text("execution_start", json!({"prompt_id": OURS})));
        apply(text("executing", json!({"node": "1", "prompt_id": OURS})));
        let second = apply(text("executing", json!({"node": "2", "prompt_id": OURS}))).unwrap();
        assert!((second.fraction - 0.5).abs() < 1e-6, "{}", second.fraction);
    }

    #[test]
    fn preview_frames_carry_jpeg_or_png() {
        let frame = |kind: u32, format: u32| {
            let mut bytes = kind.to_be_bytes().to_vec();
            bytes.extend(format.to_be_bytes());
            bytes.extend(b"IMG");
            bytes
        };
        assert_eq!(
            preview_image(&frame(1, 2)),
            Some(("image/png", &b"IMG"[..]))
        );
        assert_eq!(preview_image(&frame(1, 1)).unwrap().0, "image/jpeg");
        assert_eq!(preview_image(&frame(2, 2)), None, "unencoded preview");
        assert_eq!(preview_image(&frame(1, 9)), None);
        assert_eq!(preview_image(&[0, 0, 0, 1]), None);
    }

    /// Follows a scripted socket from inside a node run.
    struct Follow;

    impl Node for Follow {
        fn describe() -> NodeDescriptor {
            NodeDescriptor::new("follow", "0.1.0", "Follow")
                .capability(Capability::outbound_http(["*"]))
        }

        fn execute(_: NodeInput) -> Result<NodeOutputs, NodeError> {
            let server = ComfyUi::new("http://gpu:8188")?;
            let socket = connect(&server, OURS).ok_or_else(|| NodeError::failed("no socket"))?;
            let queued = Queued {
                prompt_id: OURS.to_owned(),
                number: 1,
            };
            let followed = follow(
                &server,
                &socket,
                &queued,
                &workflow(),
                Duration::from_secs(9),
            )?;
            Ok(NodeOutputs::new().summary(format!("{followed:?}")))
        }
    }

    fn png_frame() -> Vec<u8> {
        let mut frame = vec![0, 0, 0, 1, 0, 0, 0, 2];
        frame.extend(b"\x89PNG");
        frame
    }

    #[test]
    fn following_reports_our_steps_shows_our_previews_and_ends_at_node_null() {
        let script = vec![
            text(
                "status",
                json!({"status": {"exec_info": {"queue_remaining": 1}}, "sid": OURS}),
            ),
            progress(THEIRS, 1, 7),
            text("execution_start", json!({"prompt_id": OURS})),
            text("executing", json!({"node": "3", "prompt_id": OURS})),
            progress(OURS, 1, 4),
            progress(OURS, 4, 4),
            text("execution_success", json!({"prompt_id": OURS})),
            text("executing", json!({"node": null, "prompt_id": OURS})),
        ];
        let mut events: Vec<SocketEvent> = Vec::new();
        events.push(SocketEvent::Message(Message::Binary(png_frame()))); // theirs: before ours
        for (i, message) in script.into_iter().enumerate() {
            events.push(SocketEvent::Message(Message::Text(message)));
            if i == 4 {
                events.push(SocketEvent::Message(Message::Binary(png_frame())));
            }
        }
        let host = TestHost::new().socket("http://gpu:8188", move |url| {
            assert_eq!(url, format!("ws://gpu:8188/ws?clientId={OURS}"));
            Ok(TestSocket::new(events.clone()))
        });
        let out = host.execute::<Follow>(InputBuilder::new()).unwrap();
        assert_eq!(out.summary, "Ended");
        let messages: Vec<String> = host.progress().into_iter().map(|(_, m)| m).collect();
        assert_eq!(
            messages,
            [
                "running on ComfyUI",
                "running KSampler",
                "step 1/4 on KSampler",
                "step 4/4 on KSampler"
            ]
        );
        let previews = host.previews();
        assert_eq!(previews.len(), 1, "only the preview sent while ours ran");
        assert_eq!(previews[0], ("image/png".to_owned(), b"\x89PNG".to_vec()));
        assert!(
            host.http_requests().is_empty(),
            "no polling while events came"
        );
    }

    #[test]
    fn a_socket_that_closes_early_hands_over_to_polling() {
        let host = TestHost::new().socket("http://gpu:8188", |_| {
            Ok(TestSocket::new([SocketEvent::Message(Message::Text(
                text("execution_start", json!({"prompt_id": OURS})),
            ))]))
        });
        let out = host.execute::<Follow>(InputBuilder::new()).unwrap();
        assert_eq!(out.summary, "Lost(\"closed by the server\")");
    }

    #[test]
    fn a_quiet_socket_is_backed_by_polls_that_find_the_outcome() {
        let host = TestHost::new()
            .socket("http://gpu:8188", |_| {
                Ok(TestSocket::new([SocketEvent::Idle, SocketEvent::Idle]))
            })
            .http("http://gpu:8188", |request| {
                let body = if request.url.contains("/history/") {
                    json!({OURS: {"outputs": {"9": {"images": [
                        {"filename": "a.png", "subfolder": "", "type": "output"}]}},
                        "status": {"status_str": "success", "completed": true, "messages": []}}})
                } else {
                    json!({"queue_running": [], "queue_pending": []})
                };
                Ok(HttpResponse::new(200, body.to_string()))
            });
        let out = host.execute::<Follow>(InputBuilder::new()).unwrap();
        assert!(out.summary.starts_with("Done(Success"), "{}", out.summary);
        assert_eq!(host.http_requests().len(), 1, "one poll found it");
    }
}

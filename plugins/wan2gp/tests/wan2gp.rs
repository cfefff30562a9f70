//! The wan2gp node against an in-process stand-in for a Gradio server (the test host's
//! HTTP handler): prompt and start-frame sources, prefix detection, progress, errors and
//! cancellation. The real binary against a real HTTP server is tested in
//! `host/tests/pipelines/wan2gp.rs`.

use std::cell::RefCell;
use std::rc::Rc;

use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{Value as Json, json};
use mdc_sdk::testing::{InputBuilder, TestAsset, TestBody, TestHost};
use wan2gp::Wan2gp;

const ORIGIN: &str = "http://127.0.0.1:7860";
const VIDEO: &[u8] = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2 fake clip";

/// What the stand-in answers at the end of a job.
#[derive(Clone, Copy)]
enum Ending {
    Complete,
    Error,
    Dies,
}

/// One request the stand-in received: method, path and body.
type Received = (String, String, Vec<u8>);

/// A Gradio app serving `/generate` under `prefix`, recording every request.
#[derive(Clone)]
struct Server {
    prefix: &'static str,
    ending: Ending,
    requests: Rc<RefCell<Vec<Received>>>,
}

impl Server {
    fn new(prefix: &'static str, ending: Ending) -> Server {
        Server {
            prefix,
            ending,
            requests: Rc::default(),
        }
    }

    fn host(&self) -> TestHost {
        let server = self.clone();
        let streamer = self.clone();
        TestHost::new()
            .http(ORIGIN, move |request| Ok(server.answer(request)))
            .stream(ORIGIN, move |request| Ok(streamer.open(request)))
    }

    /// A response read as it arrives (the job's event stream): the same answer, its body
    /// in 7-byte pieces so events arrive cut at any place, then a quiet wait before the end.
    fn open(&self, request: &HttpRequest) -> TestBody {
        let response = self.answer(request);
        TestBody::new(response.status, response.body.chunks(7).map(<[u8]>::to_vec)).idle()
    }

    /// The `data` of the call of `/generate`.
    fn data(&self) -> Vec<Json> {
        let requests = self.requests.borrow();
        let (_, _, body) = requests
            .iter()
            .find(|(method, path, _)| method == "POST" && path.ends_with("/call/generate"))
            .expect("/generate was called");
        let body: Json = mdc_sdk::serde_json::from_slice(body).expect("JSON body");
        body["data"].as_array().expect("a data array").clone()
    }

    fn paths(&self) -> Vec<String> {
        self.requests
            .borrow()
            .iter()
            .map(|(m, p, _)| format!("{m} {p}"))
            .collect()
    }

    fn answer(&self, request: &HttpRequest) -> HttpResponse {
        let path = request.url.strip_prefix(ORIGIN).unwrap_or("").to_owned();
        self.requests.borrow_mut().push((
            request.method.clone(),
            path.clone(),
            request.body.clone(),
        ));
        let Some(route) = path
            .strip_prefix(self.prefix)
            .filter(|r| r.starts_with('/'))
        else {
            return HttpResponse::new(404, r#"{"detail":"Not Found"}"#);
        };
        match (request.method.as_str(), route) {
            ("GET", "/info") => HttpResponse::new(200, info().to_string()),
            ("POST", "/upload") => {
                let body = String::from_utf8_lossy(&request.body);
                assert!(body.contains("name=\"files\"; filename=\""), "{body}");
                HttpResponse::new(200, r#"["/tmp/gradio/up/start.png"]"#)
            }
            ("POST", "/call/generate") => HttpResponse::new(200, r#"{"event_id":"evt-7"}"#),
            ("GET", "/call/generate/evt-7") => {
                HttpResponse::new(200, self.stream()).header("content-type", "text/event-stream")
            }
            ("GET", "/file=/tmp/gradio/out/take.mp4") => HttpResponse::new(200, VIDEO),
            _ => HttpResponse::new(404, r#"{"detail":"Not Found"}"#),
        }
    }

    fn stream(&self) -> String {
        let head = "event: heartbeat\r\ndata: null\r\n\r\nevent: generating\r\ndata: [null, \"step 3/30\"]\r\n\r\n";
        let tail = match self.ending {
            Ending::Complete => format!(
                "event: complete\r\ndata: [{{\"video\": {{\"path\": \"/tmp/gradio/out/take.mp4\", \
                 \"url\": \"{ORIGIN}{}/file=/tmp/gradio/out/take.mp4\", \"orig_name\": \"take.mp4\", \
                 \"meta\": {{\"_type\": \"gradio.FileData\"}}}}, \"subtitles\": null}}, \"done\"]\r\n\r\n",
                self.prefix
            ),
            Ending::Error => "event: error\r\ndata: \"CUDA out of memory\"\r\n\r\n".to_owned(),
            Ending::Dies => String::new(),
        };
        format!("{head}{tail}")
    }
}

fn info() -> Json {
    let p = |name: &str, default: Json| {
        json!({"label": name, "parameter_name": name, "parameter_has_default": !default.is_null(),
               "parameter_default": default, "component": "Textbox"})
    };
    json!({"named_endpoints": {"/generate": {"parameters": [
        p("prompt", Json::Null),
        p("negative_prompt", json!("blurry")),
        p("resolution", json!("832x480")),
        p("video_length", json!(81)),
        p("num_inference_steps", json!(30)),
        p("guidance_scale", json!(5.0)),
        p("seed", json!(-1)),
        p("image_start", Json::Null),
        p("model_type", json!("t2v_2_2")),
    ]}}, "unnamed_endpoints": {}})
}

fn input(tier: QualityTier) -> InputBuilder {
    InputBuilder::new()
        .tier(tier)
        .seed(11)
        .param("prompt", "A lighthouse in a storm")
}

#[test]
fn a_standard_take_uses_the_balanced_preset_and_reports_each_step() {
    let server = Server::new("/gradio_api", Ending::Complete);
    let host = server.host();
    let out = host
        .execute::<Wan2gp>(input(QualityTier::Standard))
        .expect("the clip is generated");
    let data = server.data();
    assert_eq!(data[0], "A lighthouse in a storm.");
    assert_eq!(
        data[1], "blurry",
        "an empty negative prompt keeps the app's default"
    );
    assert_eq!(
        &data[2..8],
        &[
            json!("832x480"),
            json!(81),
            json!(30),
            json!(5.0),
            json!(11),
            Json::Null
        ]
    );
    assert_eq!(data[8], "t2v_2_2");
    let video = out.get("video").and_then(Value::as_asset).expect("a video");
    assert_eq!(video.mime, "video/mp4");
    assert_eq!(host.output(&video.id).expect("stored").bytes, VIDEO);
    let details: Json = out.get("details").unwrap().parse_json().unwrap();
    assert_eq!(details["event_id"], "evt-7");
    assert_eq!(details["preset"], "balanced");
    assert_eq!(details["api_prefix"], "/gradio_api");
    assert_eq!(
        out.summary,
        "Wan2GP video · balanced · 832x480 · 81 frames (5.1 s)"
    );
    let messages: Vec<String> = host.progress().into_iter().map(|(_, m)| m).collect();
    assert_eq!(
        messages,
        [
            "submitting to Wan2GP",
            "generating on Wan2GP (this can take minutes)",
            "generating on Wan2GP (0 s)",
            "generating on Wan2GP: step 3/30",
            "downloading the video",
            "done"
        ],
        "every stage of the event stream as it arrives"
    );
    let step = host.progress()[3].0;
    assert!(
        (step - 0.18).abs() < 1e-6,
        "step 3 of 30 is 10 % of the running range: {step}"
    );
}

#[test]
fn older_gradio_without_the_api_prefix_is_detected() {
    let server = Server::new("", Ending::Complete);
    let host = server.host();
    let out = host
        .execute::<Wan2gp>(input(QualityTier::High).param("preset", ParamValue::choice("fast")))
        .expect("the clip is generated");
    assert_eq!(
        server.paths()[..2],
        ["GET /gradio_api/info".to_owned(), "GET /info".to_owned()]
    );
    assert!(
        server
            .paths()
            .contains(&"GET /call/generate/evt-7".to_owned())
    );
    assert_eq!(server.data()[4], 20, "the chosen preset wins over the tier");
    assert!(out.get("video").is_some());
}

#[test]
fn a_connected_shot_gives_prompt_cast_orientation_and_start_frame() {
    let server = Server::new("/gradio_api", Ending::Complete);
    let host = server.host().asset(TestAsset::new(
        "draft-1",
        "image/png",
        b"\x89PNG fake".to_vec(),
    ));
    let shot = json!({"prompt": "Rain on the pier", "characters": ["Ines"], "aspect": "9:16",
                      "image": {"id": "draft-1", "mime": "image/png"}});
    host.execute::<Wan2gp>(
        InputBuilder::new()
            .tier(QualityTier::High)
            .connect("shot", shot),
    )
    .expect("the clip is generated");
    let data = server.data();
    assert_eq!(data[0], "Rain on the pier. Featuring Ines.");
    assert_eq!(data[2], "720x1280");
    assert_eq!(data[4], 40);
    assert_eq!(data[7]["path"], "/tmp/gradio/up/start.png");
    assert_eq!(data[7]["meta"]["_type"], "gradio.FileData");
    let requests = server.requests.borrow();
    let upload = &requests
        .iter()
        .find(|(_, p, _)| p == "/gradio_api/upload")
        .unwrap()
        .2;
    assert!(
        upload.windows(9).any(|w| w == b"\x89PNG fake"),
        "the frame's bytes were uploaded"
    );
}

#[test]
fn the_prompt_input_wins_and_frames_follow_duration() {
    let server = Server::new("/gradio_api", Ending::Complete);
    server
        .host()
        .execute::<Wan2gp>(
            input(QualityTier::Standard)
                .connect("prompt", "A gull takes off")
                .param("duration", 3.0)
                .param("negative_prompt", "text, watermark"),
        )
        .expect("the clip is generated");
    let data = server.data();
    assert_eq!(data[0], "A gull takes off");
    assert_eq!(data[1], "text, watermark");
    assert_eq!(data[3], 49, "3 s at 16 fps, rounded to 4n+1");
}

#[test]
fn an_error_event_fails_with_the_servers_message() {
    let server = Server::new("/gradio_api", Ending::Error);
    let err = server
        .host()
        .execute::<Wan2gp>(input(QualityTier::Standard))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Failed);
    assert_eq!(
        err.message,
        format!("Wan2GP at {ORIGIN} reported an error for job evt-7: CUDA out of memory")
    );
}

#[test]
fn a_stream_that_ends_without_a_result_means_the_backend_died() {
    let server = Server::new("/gradio_api", Ending::Dies);
    let err = server
        .host()
        .execute::<Wan2gp>(input(QualityTier::Standard))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BackendUnavailable);
    assert!(err.message.contains("job evt-7"), "{}", err.message);
    assert!(err.message.contains("after 2 event(s)"), "{}", err.message);
}

#[test]
fn cancelling_stops_before_the_next_step() {
    let server = Server::new("/gradio_api", Ending::Complete);
    let host = server.host().cancel_after_progress(1);
    let err = host
        .execute::<Wan2gp>(input(QualityTier::Standard))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Cancelled);
    assert!(
        !server.paths().iter().any(|p| p.starts_with("POST")),
        "nothing was submitted: {:?}",
        server.paths()
    );
}

#[test]
fn the_low_tier_and_a_missing_prompt_are_refused() {
    let host = TestHost::new();
    let err = host.execute::<Wan2gp>(input(QualityTier::Low)).unwrap_err();
    assert_eq!(err.code, ErrorCode::Unsupported);
    let err = host
        .execute::<Wan2gp>(InputBuilder::new().tier(QualityTier::High))
        .unwrap_err();
    assert_eq!(err.message, wan2gp::MISSING_PROMPT);
    assert!(host.http_requests().is_empty());
}

#[test]
fn validation_names_the_field_at_fault() {
    let host = TestHost::new();
    let fields = |builder: InputBuilder| -> Vec<(Option<String>, String)> {
        host.validate::<Wan2gp>(builder)
            .into_iter()
            .filter(Diagnostic::is_error)
            .map(|d| (d.field, d.message))
            .collect()
    };
    assert!(fields(input(QualityTier::Standard)).is_empty());
    let bad = fields(
        InputBuilder::new()
            .tier(QualityTier::Standard)
            .param("endpoint", "127.0.0.1:7860")
            .param("preset", ParamValue::choice("ultra")),
    );
    let field_names: Vec<Option<&str>> = bad.iter().map(|(f, _)| f.as_deref()).collect();
    assert_eq!(
        field_names,
        [Some("preset"), Some("endpoint"), Some("prompt")],
        "{bad:?}"
    );
    assert!(
        bad[1]
            .1
            .starts_with("The Wan2GP endpoint \"127.0.0.1:7860\" is not an http")
    );
    let connected = fields(
        InputBuilder::new()
            .tier(QualityTier::Standard)
            .connect("shot", json!({"prompt": "Rain"})),
    );
    assert!(connected.is_empty(), "{connected:?}");
}

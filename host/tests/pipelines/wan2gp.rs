//! The `wan2gp` node run by `mdc plugin run` against the fake Gradio app.

use serde_json::{Value as Json, json};

use crate::fake_gradio::{FakeGradio, Fault, Options, fake_video, index_of};
use crate::support::{
    assert_failure, assert_success, asset_bytes, output_values, outputs_json, plugin_path,
    png_bytes, printed, run_command, run_plugin, run_watched, validate_plugin,
};

const PROMPT: &str = "A lighthouse in a storm";

/// Parameters of a wan2gp node pointed at `fake`.
fn params(fake: &FakeGradio) -> Json {
    json!({"endpoint": fake.url(), "prompt": PROMPT})
}

/// Runs the node at `tier` with `seed` and the fake granted.
fn run(
    fake: &FakeGradio,
    params: &Json,
    inputs: &Json,
    tier: &str,
    out: &std::path::Path,
) -> std::process::Output {
    run_command(
        &plugin_path("wan2gp"),
        params,
        inputs,
        tier,
        &[fake.url()],
        out,
    )
    .args(["--seed", "42"])
    .output()
    .expect("mdc runs")
}

/// The value the fake's `/generate` received for parameter `name` in call `n`.
fn sent(fake: &FakeGradio, n: usize, name: &str) -> Json {
    fake.calls()[n].data[index_of(name)].clone()
}

#[test]
fn wan2gp_standard_take_sends_the_balanced_preset_and_stores_the_video() {
    let fake = FakeGradio::start();
    let out = tempfile::tempdir().unwrap();
    let output = run(&fake, &params(&fake), &json!({}), "standard", out.path());
    assert_success(&output);

    let calls = fake.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].api_name, "generate");
    assert_eq!(
        calls[0].data,
        json!([
            "A lighthouse in a storm.",
            "",
            "832x480",
            81,
            30,
            5.0,
            42,
            null,
            "t2v_2_2",
            "unipc",
            5.0
        ]),
        "balanced preset values by parameter name; the app's defaults elsewhere"
    );
    let event_id = &calls[0].event_id;
    let requests = fake.requests();
    assert_eq!(
        requests[..3],
        [
            "GET /gradio_api/info".to_owned(),
            "POST /gradio_api/call/generate".to_owned(),
            format!("GET /gradio_api/call/generate/{event_id}"),
        ]
    );
    assert!(
        requests[3].starts_with("GET /gradio_api/file=/tmp/gradio/"),
        "{requests:?}"
    );

    let outputs = outputs_json(out.path());
    let videos = output_values(&outputs, "video");
    assert_eq!(videos.len(), 1, "{outputs}");
    assert_eq!(videos[0]["mime"], "video/mp4");
    assert_eq!(
        asset_bytes(out.path(), &videos[0]),
        fake_video("A lighthouse in a storm.", 42, "832x480", 81, 30, &[]),
        "the bytes Wan2GP generated for this prompt and seed"
    );
    let details = &output_values(&outputs, "details")[0];
    assert_eq!(details["event_id"], *event_id);
    assert_eq!(details["preset"], "balanced");
    assert_eq!(details["endpoint"], fake.url());
    assert_eq!(details["api_prefix"], "/gradio_api");
    assert!(
        printed(&output).contains("Wan2GP video · balanced · 832x480 · 81 frames (5.1 s)"),
        "{}",
        printed(&output)
    );
}

#[test]
fn wan2gp_high_tier_selects_the_quality_preset_and_an_explicit_preset_wins() {
    let fake = FakeGradio::start();
    let out = tempfile::tempdir().unwrap();
    assert_success(&run(&fake, &params(&fake), &json!({}), "high", out.path()));
    assert_eq!(sent(&fake, 0, "resolution"), "1280x720");
    assert_eq!(sent(&fake, 0, "num_inference_steps"), 40);
    assert_eq!(sent(&fake, 0, "video_length"), 81);
    assert_eq!(
        output_values(&outputs_json(out.path()), "details")[0]["preset"],
        "quality"
    );

    let mut fast = params(&fake);
    fast["preset"] = json!("fast");
    fast["frames"] = json!(33);
    assert_success(&run(&fake, &fast, &json!({}), "high", out.path()));
    assert_eq!(sent(&fake, 1, "resolution"), "832x480");
    assert_eq!(sent(&fake, 1, "num_inference_steps"), 20);
    assert_eq!(sent(&fake, 1, "video_length"), 33);
}

#[test]
fn wan2gp_image_to_video_uploads_the_start_frame() {
    let fake = FakeGradio::start();
    let out = tempfile::tempdir().unwrap();
    let frame = out.path().join("start.png");
    let png = png_bytes(96, 54, 7);
    std::fs::write(&frame, &png).unwrap();
    let inputs = json!({"image": {"asset": frame.to_str().unwrap()}});
    assert_success(&run(&fake, &params(&fake), &inputs, "standard", out.path()));

    let uploads = fake.uploads();
    assert_eq!(uploads.len(), 1);
    let (server_path, name, bytes) = &uploads[0];
    assert_eq!(name, "start.png");
    assert_eq!(
        bytes, &png,
        "the frame's bytes arrived intact through multipart"
    );
    let start = sent(&fake, 0, "image_start");
    assert_eq!(start["path"], *server_path);
    assert_eq!(start["meta"]["_type"], "gradio.FileData");
    let requests = fake.requests();
    assert_eq!(requests[1], "POST /gradio_api/upload", "{requests:?}");

    let outputs = outputs_json(out.path());
    assert_eq!(
        asset_bytes(out.path(), &output_values(&outputs, "video")[0]),
        fake_video("A lighthouse in a storm.", 42, "832x480", 81, 30, &png),
        "the clip was generated from the uploaded frame"
    );
}

#[test]
fn wan2gp_older_gradio_without_the_api_prefix_is_detected() {
    let fake = FakeGradio::with(Options {
        prefix: "",
        ..Options::default()
    });
    let out = tempfile::tempdir().unwrap();
    assert_success(&run(
        &fake,
        &params(&fake),
        &json!({}),
        "standard",
        out.path(),
    ));
    let requests = fake.requests();
    assert_eq!(
        requests[..3],
        ["GET /gradio_api/info", "GET /info", "POST /call/generate"]
    );
    assert_eq!(
        output_values(&outputs_json(out.path()), "details")[0]["api_prefix"],
        ""
    );
}

#[test]
fn wan2gp_error_event_fails_with_the_servers_message() {
    let fake = FakeGradio::with(Options {
        fault: Fault::ErrorEvent,
        ..Options::default()
    });
    let out = tempfile::tempdir().unwrap();
    let text = assert_failure(&run(
        &fake,
        &params(&fake),
        &json!({}),
        "standard",
        out.path(),
    ));
    let event_id = &fake.calls()[0].event_id;
    assert!(
        text.contains(&format!(
            "Wan2GP at {} reported an error for job {event_id}: CUDA out of memory. Tried to \
             allocate 2.00 GiB (GPU 0; 23.65 GiB total capacity) (failed)",
            fake.url()
        )),
        "{text}"
    );
}

#[test]
fn wan2gp_backend_dying_mid_job_is_unavailable_and_names_the_job() {
    let fake = FakeGradio::with(Options {
        fault: Fault::DieMidJob,
        ..Options::default()
    });
    let out = tempfile::tempdir().unwrap();
    let text = assert_failure(&run(
        &fake,
        &params(&fake),
        &json!({}),
        "standard",
        out.path(),
    ));
    let event_id = &fake.calls()[0].event_id;
    assert!(
        text.contains(&format!(
            "the event stream of job {event_id} from {}/gradio_api/call/generate/{event_id} ended \
             without a result after 2 event(s); Wan2GP stopped or crashed while generating",
            fake.url()
        )),
        "{text}"
    );
    assert!(text.contains("(backend_unavailable)"), "{text}");
    assert!(
        crate::support::eventually(5.0, || !fake.server.is_running()),
        "the fake died after the stream"
    );
}

#[test]
fn wan2gp_full_queue_refusal_is_explained() {
    let fake = FakeGradio::with(Options {
        fault: Fault::QueueFull,
        ..Options::default()
    });
    let out = tempfile::tempdir().unwrap();
    let text = assert_failure(&run(
        &fake,
        &params(&fake),
        &json!({}),
        "standard",
        out.path(),
    ));
    assert!(
        text.contains(&format!(
            "Wan2GP at {} refused the job (HTTP 503: Queue is full.); it is busy or still \
             starting, try again later (backend_unavailable)",
            fake.url()
        )),
        "{text}"
    );
    assert!(fake.calls().is_empty());
}

#[test]
fn wan2gp_unknown_endpoints_are_named_with_the_ones_the_app_has() {
    let fake = FakeGradio::start();
    let out = tempfile::tempdir().unwrap();
    let mut listed = params(&fake);
    listed["api_name"] = json!("/make_video");
    let text = assert_failure(&run(&fake, &listed, &json!({}), "standard", out.path()));
    assert!(
        text.contains("lists no endpoint /make_video in its API description (it lists: /generate, /refresh_gallery)"),
        "{text}"
    );
    // With a parameter order the call is made, and Gradio's 404 is explained.
    listed["parameters"] = json!("prompt, seed");
    let text = assert_failure(&run(&fake, &listed, &json!({}), "standard", out.path()));
    assert!(
        text.contains(&format!(
            "Wan2GP at {} has no API endpoint /make_video (HTTP 404)",
            fake.url()
        )),
        "{text}"
    );
    assert!(
        fake.requests()
            .contains(&"POST /gradio_api/call/make_video".to_owned())
    );
}

#[test]
fn wan2gp_origin_not_granted_is_a_capability_error() {
    let fake = FakeGradio::start();
    let out = tempfile::tempdir().unwrap();
    let output = run_plugin(
        &plugin_path("wan2gp"),
        &params(&fake),
        &json!({}),
        "standard",
        &[],
        out.path(),
    );
    let text = assert_failure(&output);
    assert!(text.contains(fake.url()), "names the origin: {text}");
    assert!(text.contains("not granted"), "{text}");
    assert!(fake.requests().is_empty(), "nothing reached the server");
}

#[test]
fn wan2gp_validate_catches_bad_preset_endpoint_and_missing_prompt() {
    let component = plugin_path("wan2gp");
    let good = validate_plugin(
        &component,
        &json!({"endpoint": "http://127.0.0.1:7860", "prompt": PROMPT}),
        &json!({}),
        "standard",
    );
    assert_success(&good);
    let bad = validate_plugin(
        &component,
        &json!({"endpoint": "127.0.0.1:7860", "preset": "ultra"}),
        &json!({}),
        "standard",
    );
    let text = assert_failure(&bad);
    assert!(text.contains("error [preset]"), "{text}");
    assert!(
        text.contains("`ultra` is not one of the options (auto, fast, balanced, quality)"),
        "{text}"
    );
    assert!(
        text.contains("error [endpoint]: The Wan2GP endpoint \"127.0.0.1:7860\" is not an http:// or https:// URL"),
        "{text}"
    );
    assert!(
        text.contains("error [prompt]: Wan2GP needs a prompt"),
        "{text}"
    );
    assert!(text.contains("3 error(s)"), "{text}");
}

#[test]
fn wan2gp_serves_a_shot_pipeline_through_the_shared_dispatch() {
    let fake = FakeGradio::start();
    let out = tempfile::tempdir().unwrap();
    let pipelines =
        json!({"standard": {"kind": "wan2gp", "endpoint": fake.url(), "preset": "fast"}});
    let output = run_command(
        &plugin_path("shot"),
        &json!({"prompt": PROMPT, "pipelines": pipelines}),
        &json!({}),
        "standard",
        &[fake.url()],
        out.path(),
    )
    .args(["--seed", "42"])
    .output()
    .expect("mdc runs");
    assert_success(&output);
    assert_eq!(
        sent(&fake, 0, "num_inference_steps"),
        20,
        "the configured preset"
    );
    assert_eq!(sent(&fake, 0, "resolution"), "832x480");
    assert_eq!(
        sent(&fake, 0, "video_length"),
        1,
        "a shot asks for one frame"
    );
    assert!(
        printed(&output).contains(&format!("from Wan2GP at {}", fake.url())),
        "{}",
        printed(&output)
    );
}

#[test]
fn wan2gp_stages_appear_while_the_job_runs() {
    let fake = FakeGradio::with(Options {
        delay: std::time::Duration::from_millis(1600),
        updates: 3,
        ..Options::default()
    });
    let out = tempfile::tempdir().unwrap();
    let mut command = run_command(
        &plugin_path("wan2gp"),
        &params(&fake),
        &json!({}),
        "standard",
        &[fake.url()],
        out.path(),
    );
    let run = run_watched(command.args(["--seed", "42"]));
    assert_success(&run.output);
    let stage = |text: &str| {
        run.first(text)
            .unwrap_or_else(|| panic!("no {text:?} in {:?}", run.lines))
    };
    let first = stage("generating on Wan2GP: Denoising: step 10/30");
    let second = stage("generating on Wan2GP: Denoising: step 20/30");
    let third = stage("generating on Wan2GP: Denoising: step 30/30");
    let download = stage("downloading the video");
    assert!(
        second.duration_since(first) >= std::time::Duration::from_millis(250)
            && third.duration_since(second) >= std::time::Duration::from_millis(250),
        "each stage was shown when it happened: {:?}",
        run.lines
    );
    assert!(download > third);
    assert!(
        run.matching("generating on Wan2GP (0 s)").len() == 1,
        "the heartbeat: {:?}",
        run.lines
    );
    let percent = |line: &str| -> u32 {
        line.trim()
            .split('%')
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let steps: Vec<u32> = run
        .matching("Denoising")
        .iter()
        .map(|l| percent(l))
        .collect();
    assert_eq!(
        steps,
        [37, 63, 90],
        "steps move the fraction from 10 % to 90 %"
    );
}

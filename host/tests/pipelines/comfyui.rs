//! The `comfyui` node run by `mdc plugin run` against the fake ComfyUI.

use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::{Value as Json, json};

use crate::fake_comfyui::{
    FakeComfyUi, Fault, Options, default_workflow, ui_format_workflow, workflow_with_load_image,
};
use crate::support::{
    assert_failure, assert_success, asset_bytes, eventually, interrupt, output_values,
    outputs_json, plugin_path, png_bytes, printed, run_command, run_plugin, run_watched,
    spawn_plugin, validate_plugin,
};

/// Runs the comfyui node at the Standard tier against `fake` (its origin granted), writing
/// outputs to a fresh folder.
fn run_against(fake: &FakeComfyUi, params: &Json, inputs: &Json) -> (tempfile::TempDir, Output) {
    let out = tempfile::tempdir().unwrap();
    let output = run_plugin(
        &plugin_path("comfyui"),
        params,
        inputs,
        "standard",
        &[fake.url()],
        out.path(),
    );
    (out, output)
}

/// Parameters of a comfyui node pointed at `fake`.
fn params(fake: &FakeComfyUi, workflow: Json) -> Json {
    json!({"endpoint": fake.url(), "workflow": workflow, "prompt": "a lighthouse in a storm"})
}

#[test]
fn generates_the_png_comfyui_made_for_the_seed_and_reports_the_queue() {
    let fake = FakeComfyUi::start();
    let out = tempfile::tempdir().unwrap();
    // Someone else's job is queued first; ours waits behind it until the GPU is free.
    fake.pause();
    fake.occupy(default_workflow());
    let mut command = run_command(
        &plugin_path("comfyui"),
        &params(&fake, default_workflow()),
        &json!({}),
        "standard",
        &[fake.url()],
        out.path(),
    );
    let child = command
        .args(["--seed", "1234"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        eventually(60.0, || fake.received().len() == 1),
        "our prompt arrived"
    );
    std::thread::sleep(Duration::from_millis(600));
    fake.resume();
    let output = child.wait_with_output().unwrap();
    assert_success(&output);
    let text = printed(&output);

    let workflow = &fake.received()[0];
    assert_eq!(
        workflow["3"]["inputs"]["seed"], 1234,
        "the execution's seed reached the sampler"
    );
    assert_eq!(workflow["6"]["inputs"]["text"], "a lighthouse in a storm");
    assert_eq!(
        workflow["7"]["inputs"]["text"], "text, watermark",
        "the negative prompt stays"
    );

    let outputs = outputs_json(out.path());
    let takes = output_values(&outputs, "take");
    let images = output_values(&outputs, "images");
    assert_eq!((takes.len(), images.len()), (1, 1), "{outputs}");
    assert!(output_values(&outputs, "video").is_empty());
    assert_eq!(takes[0]["mime"], "image/png");
    assert_eq!(
        asset_bytes(out.path(), &takes[0]),
        png_bytes(512, 512, 1234),
        "the take is the PNG ComfyUI rendered for seed 1234 at the workflow's 512×512"
    );
    for line in [
        "queued on ComfyUI: 1 ahead",
        "running on ComfyUI",
        "running KSampler",
        "step 1/4 on KSampler",
        "step 4/4 on KSampler",
        "downloading 1 outputs",
        &format!("1 image from ComfyUI at {}", fake.url()),
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    let ours = &fake.prompt_ids()[0];
    assert_eq!(
        fake.socket_clients(),
        std::slice::from_ref(ours),
        "one socket, under the client id the prompt carried"
    );
}

#[test]
fn exposed_values_and_a_connected_prompt_land_in_the_workflow() {
    let fake = FakeComfyUi::start();
    let out = tempfile::tempdir().unwrap();
    let mut params = params(&fake, default_workflow());
    params["expose"] = json!({"Steps": "3.inputs.steps", "CFG": "3.inputs.cfg", "Sampler": "3.inputs.sampler_name"});
    params["values"] = json!({"Steps": 7, "CFG": 4.5, "Sampler": "dpmpp_2m"});
    let output = run_plugin(
        &plugin_path("comfyui"),
        &params,
        &json!({"prompt": "the keeper climbs the stairs"}),
        "standard",
        &[fake.url()],
        out.path(),
    );
    assert_success(&output);
    let inputs = &fake.received()[0]["3"]["inputs"];
    assert_eq!(
        (inputs["steps"].clone(), inputs["cfg"].clone()),
        (json!(7), json!(4.5))
    );
    assert_eq!(inputs["sampler_name"], "dpmpp_2m");
    assert_eq!(
        fake.received()[0]["6"]["inputs"]["text"],
        "the keeper climbs the stairs",
        "a connected prompt wins over the parameter"
    );
}

#[test]
fn reference_images_are_uploaded_and_put_into_load_image() {
    let fake = FakeComfyUi::start();
    let work = tempfile::tempdir().unwrap();
    let reference = work.path().join("maya-sheet.png");
    let reference_bytes = png_bytes(96, 64, 77);
    std::fs::write(&reference, &reference_bytes).unwrap();
    let out = work.path().join("out");
    let output = run_plugin(
        &plugin_path("comfyui"),
        &params(&fake, workflow_with_load_image()),
        &json!({"images": [{"asset": reference.to_str().unwrap()}]}),
        "standard",
        &[fake.url()],
        &out,
    );
    assert_success(&output);
    let names = fake.upload_names();
    assert_eq!(names.len(), 1, "one upload: {names:?}");
    assert_eq!(
        fake.upload(&names[0]).unwrap(),
        reference_bytes,
        "the bytes arrived whole"
    );
    assert_eq!(fake.received()[0]["10"]["inputs"]["image"], names[0]);
}

#[test]
fn a_ui_format_workflow_is_refused_with_the_export_howto() {
    let fake = FakeComfyUi::start();
    let params = params(&fake, ui_format_workflow());
    let validated = validate_plugin(&plugin_path("comfyui"), &params, &json!({}), "standard");
    let text = assert_failure(&validated);
    assert!(
        text.contains("error [workflow]: This ComfyUI workflow was saved in UI format"),
        "{text}"
    );
    assert!(
        text.contains("“Save (API Format)”") && text.contains("“Dev mode”"),
        "{text}"
    );

    let out = tempfile::tempdir().unwrap();
    let run = run_plugin(
        &plugin_path("comfyui"),
        &params,
        &json!({}),
        "standard",
        &[fake.url()],
        out.path(),
    );
    let text = assert_failure(&run);
    assert!(
        text.contains("saved in UI format") && text.contains("(invalid_input)"),
        "{text}"
    );
    assert!(fake.received().is_empty(), "nothing was sent to ComfyUI");
}

#[test]
fn exposed_paths_that_do_not_exist_fail_validation() {
    let fake = FakeComfyUi::start();
    let mut params = params(&fake, default_workflow());
    params["expose"] = json!({"Steps": "3.inputs.stepz", "Model": "12.inputs.ckpt_name"});
    let text = assert_failure(&validate_plugin(
        &plugin_path("comfyui"),
        &params,
        &json!({}),
        "standard",
    ));
    assert!(
        text.contains(
            "error [expose]: Exposed input “Steps”: node 3 (KSampler) has no input “stepz”"
        ),
        "{text}"
    );
    assert!(
        text.contains("Exposed input “Model”: The workflow has no node 12"),
        "{text}"
    );
}

#[test]
fn node_errors_from_comfyui_name_the_node_class_and_problem() {
    let fake = FakeComfyUi::start();
    let mut workflow = default_workflow();
    workflow["4"]["inputs"] = json!({});
    let (out, output) = run_against(&fake, &params(&fake, workflow), &json!({}));
    let text = assert_failure(&output);
    let expected = format!(
        "ComfyUI at {} refused the workflow: node 4 (CheckpointLoaderSimple): Required input is missing: ckpt_name",
        fake.url()
    );
    assert!(text.contains(&expected), "{text}");

    let mut unknown = default_workflow();
    unknown["9"]["class_type"] = json!("SaveImageToCloud");
    let output = run_plugin(
        &plugin_path("comfyui"),
        &params(&fake, unknown),
        &json!({}),
        "standard",
        &[fake.url()],
        out.path(),
    );
    let text = assert_failure(&output);
    assert!(
        text.contains("refused the workflow: Cannot execute because node SaveImageToCloud does not exist.: Node ID '#9'"),
        "{text}"
    );
}

#[test]
fn an_execution_error_names_the_prompt_and_node() {
    let fake = FakeComfyUi::with(Options {
        fault: Fault::ExecutionError,
        ..Options::default()
    });
    let (_out, output) = run_against(&fake, &params(&fake, default_workflow()), &json!({}));
    let text = assert_failure(&output);
    assert!(
        text.contains(&format!("ComfyUI at {} failed prompt {} at node 3 (KSampler): torch.OutOfMemoryError — CUDA out of memory. Tried to allocate 2.50 GiB", fake.url(), fake.prompt_ids()[0])),
        "{text}"
    );
    assert!(text.contains("(failed)"), "{text}");
}

#[test]
fn a_backend_that_dies_mid_job_is_reported_with_the_prompt_id() {
    let fake = FakeComfyUi::with(Options {
        steps: 6,
        fault: Fault::DieMidJob,
        ..Options::default()
    });
    let (_out, output) = run_against(&fake, &params(&fake, default_workflow()), &json!({}));
    let text = assert_failure(&output);
    assert!(!fake.server.is_running(), "the fake died");
    assert!(
        text.contains(&format!(
            "ComfyUI at {} stopped answering while running prompt {}",
            fake.url(),
            fake.prompt_ids()[0]
        )),
        "{text}"
    );
    assert!(text.contains("(backend_unavailable)"), "{text}");
}

#[test]
fn an_endpoint_the_operator_did_not_grant_is_refused() {
    let fake = FakeComfyUi::start();
    let out = tempfile::tempdir().unwrap();
    let output = run_plugin(
        &plugin_path("comfyui"),
        &params(&fake, default_workflow()),
        &json!({}),
        "standard",
        &[],
        out.path(),
    );
    let text = assert_failure(&output);
    assert!(
        text.contains(&format!(
            "tried to reach {}, which the operator has not granted",
            fake.url()
        )),
        "{text}"
    );
    assert!(fake.received().is_empty());
}

#[test]
fn cancelling_interrupts_the_running_prompt() {
    let fake = FakeComfyUi::with(Options {
        steps: 300,
        step: Duration::from_millis(100),
        ..Options::default()
    });
    let out = tempfile::tempdir().unwrap();
    let child = spawn_plugin(
        &plugin_path("comfyui"),
        &params(&fake, default_workflow()),
        &json!({}),
        "standard",
        &[fake.url()],
        out.path(),
    );
    assert!(eventually(60.0, || fake.is_running()), "the prompt started");
    interrupt(&child);
    let output = child.wait_with_output().unwrap();
    let text = assert_failure(&output);
    assert!(text.contains("cancelled"), "{text}");
    assert_eq!(fake.interrupts(), 1, "ComfyUI was told to stop");
    assert!(
        eventually(5.0, || !fake.is_running()),
        "the prompt stopped on ComfyUI"
    );
    let history = fake.history(&fake.prompt_ids()[0]).unwrap();
    assert_eq!(history["status"]["status_str"], "error");
}

#[test]
fn cancelling_a_waiting_prompt_removes_it_from_the_queue() {
    let fake = FakeComfyUi::start();
    fake.pause();
    let theirs = fake.occupy(default_workflow());
    let out = tempfile::tempdir().unwrap();
    let child = spawn_plugin(
        &plugin_path("comfyui"),
        &params(&fake, default_workflow()),
        &json!({}),
        "standard",
        &[fake.url()],
        out.path(),
    );
    assert!(
        eventually(60.0, || fake.received().len() == 1),
        "our prompt arrived"
    );
    std::thread::sleep(Duration::from_millis(500));
    interrupt(&child);
    let text = assert_failure(&child.wait_with_output().unwrap());
    assert!(text.contains("cancelled"), "{text}");
    assert_eq!(fake.deleted(), fake.prompt_ids(), "ours left the queue");
    assert_eq!(
        fake.interrupts(),
        0,
        "the other user's running job was not interrupted"
    );
    assert_ne!(theirs, fake.deleted()[0]);
}

/// The comfyui command at the Standard tier against `fake`, writing to `out`.
fn command(fake: &FakeComfyUi, out: &std::path::Path) -> std::process::Command {
    let mut command = run_command(
        &plugin_path("comfyui"),
        &params(fake, default_workflow()),
        &json!({}),
        "standard",
        &[fake.url()],
        out,
    );
    command.args(["--seed", "7"]);
    command
}

#[test]
fn step_progress_and_previews_arrive_while_the_prompt_runs() {
    let fake = FakeComfyUi::with(Options {
        steps: 10,
        step: Duration::from_millis(150),
        throttle: Duration::ZERO,
        ..Options::default()
    });
    let out = tempfile::tempdir().unwrap();
    let run = run_watched(&mut command(&fake, out.path()));
    assert_success(&run.output);
    let first = run
        .first("step 1/10 on KSampler")
        .expect("the first step was shown");
    let last = run
        .first("step 10/10 on KSampler")
        .expect("the last step was shown");
    assert_eq!(run.matching("on KSampler").len(), 10, "{:?}", run.lines);
    let sent = fake.progress_sent();
    assert_eq!(
        sent.iter().map(|p| p.value).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<u64>>()
    );
    assert!(first >= sent[0].at, "shown after ComfyUI sent it");
    assert!(
        last.duration_since(first) >= Duration::from_millis(900),
        "the steps were shown as they happened, not all at the end ({:?} apart)",
        last.duration_since(first)
    );
    assert!(run.ended.duration_since(first) >= Duration::from_millis(900));
    let previews = run.matching("preview ");
    assert_eq!(previews.len(), 10, "one preview per step: {previews:?}");
    assert!(
        previews[9].contains("preview 10 (image/png"),
        "{previews:?}"
    );
    let saved = std::fs::read(out.path().join("preview.png")).expect("the latest preview is saved");
    assert_eq!(saved, png_bytes(16, 16, 10), "the last step's preview");
}

#[test]
fn events_of_another_clients_prompt_are_ignored() {
    let fake = FakeComfyUi::start();
    fake.pause();
    // A script's prompt without a client id: its progress and previews reach every socket.
    let theirs = fake.occupy_unrouted(default_workflow(), 7);
    let out = tempfile::tempdir().unwrap();
    let mut command = command(&fake, out.path());
    let resume = std::thread::scope(|scope| {
        let waiter = scope.spawn(|| {
            assert!(
                eventually(60.0, || fake.received().len() == 1),
                "our prompt arrived"
            );
            assert!(
                eventually(5.0, || !fake.socket_clients().is_empty()),
                "our socket"
            );
            fake.resume();
        });
        let run = run_watched(&mut command);
        waiter.join().unwrap();
        run
    });
    assert_success(&resume.output);
    let ours = fake.prompt_ids()[0].clone();
    let sent = fake.progress_sent();
    assert!(
        sent.iter().any(|p| p.prompt_id == theirs && p.max == 7),
        "their progress reached our socket too"
    );
    assert!(resume.matching("/7 on").is_empty(), "{:?}", resume.lines);
    assert!(
        resume.first("step 4/4 on KSampler").is_some(),
        "{:?}",
        resume.lines
    );
    let our_frames = sent.iter().filter(|p| p.prompt_id == ours).count();
    assert_eq!(
        resume.matching("preview ").len(),
        our_frames,
        "only previews sent while ours ran were shown"
    );
}

#[test]
fn a_server_without_websockets_is_followed_by_polling() {
    let fake = FakeComfyUi::with(Options {
        websocket: false,
        ..Options::default()
    });
    let out = tempfile::tempdir().unwrap();
    let output = command(&fake, out.path()).output().unwrap();
    assert_success(&output);
    let text = printed(&output);
    assert_eq!(
        text.matches("could not be opened").count(),
        1,
        "said once: {text}"
    );
    assert!(text.contains("running on ComfyUI"), "{text}");
    assert!(!text.contains(" on KSampler"), "{text}");
    assert_eq!(
        asset_bytes(
            out.path(),
            &output_values(&outputs_json(out.path()), "take")[0]
        ),
        png_bytes(512, 512, 7)
    );
}

#[test]
fn a_rerun_of_the_same_seed_gets_a_new_prompt_id_and_comfyuis_cached_outputs() {
    let fake = FakeComfyUi::start();
    let first = tempfile::tempdir().unwrap();
    assert_success(&command(&fake, first.path()).output().unwrap());
    let again = tempfile::tempdir().unwrap();
    let output = command(&fake, again.path()).output().unwrap();
    assert_success(&output);
    let ids = fake.prompt_ids();
    assert_eq!(ids.len(), 2);
    assert_ne!(
        ids[0], ids[1],
        "the second run did not reuse the first one's id"
    );
    let text = printed(&output);
    assert!(text.contains("7 nodes reused from the cache"), "{text}");
    assert!(
        !text.contains(" on KSampler"),
        "nothing sampled again: {text}"
    );
    let take =
        |dir: &std::path::Path| asset_bytes(dir, &output_values(&outputs_json(dir), "take")[0]);
    assert_eq!(
        take(again.path()),
        take(first.path()),
        "ComfyUI's earlier file"
    );
}

use std::time::Instant;
#[test]
fn phases() {
    let input = mdc_sdk::testing::InputBuilder::new()
        .param(
            "prompt",
            "A fisherman hauls a net at dawn while gulls wheel over the harbour",
        )
        .param("scene", "1 · EXT. HARBOUR - DAWN")
        .param("shot", "1.1")
        .connect(
            "characters",
            mdc_sdk::types::Value::Json(r#"{"name":"MAYA"}"#.into()),
        )
        .connect(
            "environment",
            mdc_sdk::types::Value::Json(r#"{"mood":"dawn","type":"exterior"}"#.into()),
        )
        .build();
    let ctx = shot::frame_context(&input);
    for _ in 0..3 {
        let t = Instant::now();
        let canvas = frame_kit::draw_draft_frame(&ctx);
        let draw = t.elapsed();
        let t = Instant::now();
        let png = canvas.to_png();
        let enc = t.elapsed();
        println!("draw {:?} encode {:?} ({} bytes)", draw, enc, png.len());
    }
}

//! Draft frames: size per aspect, determinism, sensitivity to inputs, and a
//! gallery of moods and settings (written to `$FRAME_KIT_DUMP_DIR` when set,
//! for looking at them).

use frame_kit::{Aspect, Canvas, FrameContext, Mood, Setting, parse_hex, render_draft_frame};

fn harbour() -> FrameContext {
    FrameContext {
        seed: 7,
        scene: "1 · EXT. HARBOUR - DAWN".into(),
        shot: "1.1".into(),
        prompt: "A fisherman hauls a net at dawn".into(),
        setting: Setting::Exterior,
        mood: Mood::Dawn,
        characters: vec!["MAYA".into()],
        ..FrameContext::default()
    }
}

fn decode(png: &[u8]) -> Canvas {
    Canvas::decode(png).expect("a valid PNG")
}

fn distinct_colours(c: &Canvas) -> usize {
    let mut seen = std::collections::HashSet::new();
    for px in c.data().chunks_exact(3).step_by(97) {
        seen.insert([px[0], px[1], px[2]]);
    }
    seen.len()
}

#[test]
fn size_follows_the_aspect() {
    for (aspect, h) in [
        (Aspect::Wide, 720),
        (Aspect::Scope, 536),
        (Aspect::Classic, 960),
        (Aspect::Square, 1280),
        (Aspect::Vertical, 2276),
    ] {
        let png = render_draft_frame(&FrameContext {
            aspect,
            ..harbour()
        });
        let img = decode(&png);
        assert_eq!((img.width(), img.height()), (1280, h), "{aspect:?}");
        assert!(distinct_colours(&img) > 50, "{aspect:?} has real content");
    }
}

#[test]
fn same_inputs_same_bytes_and_changes_change_them() {
    let a = render_draft_frame(&harbour());
    assert_eq!(a, render_draft_frame(&harbour()));
    assert_ne!(
        a,
        render_draft_frame(&FrameContext {
            seed: 8,
            ..harbour()
        })
    );
    assert_ne!(
        a,
        render_draft_frame(&FrameContext {
            prompt: "A gull lands on the rail".into(),
            ..harbour()
        })
    );
    assert_ne!(
        a,
        render_draft_frame(&FrameContext {
            mood: Mood::Night,
            ..harbour()
        })
    );
}

#[test]
fn every_mood_and_setting_renders() {
    let dump = std::env::var_os("FRAME_KIT_DUMP_DIR").map(std::path::PathBuf::from);
    let moods = [
        Mood::Day,
        Mood::Night,
        Mood::Dusk,
        Mood::Dawn,
        Mood::Overcast,
        Mood::Rain,
        Mood::Neon,
        Mood::Candlelit,
        Mood::Foggy,
    ];
    let places = [
        "harbour",
        "city street",
        "forest",
        "mountain pass",
        "open field",
    ];
    // Every mood once, cycling through the settings (set FRAME_KIT_ALL=1 for every pair).
    let all = std::env::var_os("FRAME_KIT_ALL").is_some();
    for (i, mood) in moods.iter().enumerate() {
        for (j, setting) in [Setting::Exterior, Setting::Interior, Setting::Mixed]
            .iter()
            .enumerate()
        {
            if !all && j != i % 3 {
                continue;
            }
            let ctx = FrameContext {
                seed: (i * 3 + j) as u64,
                mood: *mood,
                setting: *setting,
                location: places[(i + j) % places.len()].into(),
                scene: format!(
                    "{} · {} {} - {}",
                    i + 1,
                    setting.label(),
                    places[(i + j) % places.len()].to_uppercase(),
                    mood.label()
                ),
                prompt: format!(
                    "{} waits by the {} as the light changes.",
                    ["Maya", "Tom", "Lena"][i % 3],
                    places[(i + j) % places.len()]
                ),
                characters: ["MAYA", "TOM", "LENA", "RADIO VOICE"][..(i + j) % 5]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                palette: if i % 2 == 0 {
                    vec![parse_hex("#1b2a41").unwrap(), parse_hex("#c9a227").unwrap()]
                } else {
                    vec![]
                },
                keywords: vec!["noir".into(), "anamorphic".into()],
                ..harbour()
            };
            let png = render_draft_frame(&ctx);
            let img = decode(&png);
            assert!(distinct_colours(&img) > 30, "{mood:?} {setting:?}");
            if let Some(dir) = &dump {
                let name = format!("{:?}-{:?}.png", mood, setting).to_lowercase();
                std::fs::write(dir.join(name), &png).unwrap();
            }
        }
    }
}

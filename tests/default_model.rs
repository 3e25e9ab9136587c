//! The model that ships in models/default works out of the box.

use crate::common;

#[test]
fn the_shipped_model_finds_poe_boston_and_live_in() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default");
    assert!(
        dir.join("config.json").exists(),
        "models/default is part of the repository"
    );
    // It mixes MPNet's layers and reads GloVe, which the setup step fetches.
    if common::resource("all-mpnet-base-v2").is_none() || common::resource("glove-6b-50d").is_none() {
        return;
    }
    let out = common::run(&[
        "predict",
        "--model",
        dir.to_str().unwrap(),
        "--device",
        "cpu",
        "--text",
        "In 1809, author Edgar Allan Poe was born in Boston.",
    ]);
    let text = common::stdout(&out);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(text.contains("Peop         \"Edgar Allan Poe\""), "{text}");
    assert!(text.contains("Loc          \"Boston\""), "{text}");
    assert!(
        text.contains("Live_In (\"Edgar Allan Poe\" → \"Boston\""),
        "{text}"
    );
}

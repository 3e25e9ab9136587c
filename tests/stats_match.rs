//! `relarc stats` agrees with the verification figures in shared/data/STATS.json.

use crate::common;

use serde_json::Value;

#[test]
fn stats_match_the_shared_figures_for_every_file() {
    let Some(data) = common::data_dir() else { return };
    let expected: Value = common::read_json(data.join("STATS.json"));
    let mut checked = 0;
    for (key, want) in expected.as_object().unwrap() {
        let file = data.join(format!("{key}.json"));
        if !file.exists() {
            continue; // the CoNLL04 test split is withheld on purpose
        }
        let out = common::run(&["stats", "--json", file.to_str().unwrap()]);
        assert!(out.status.success(), "{key}: {}", common::stderr(&out));
        let got: Value = serde_json::from_str(&common::stdout(&out)).unwrap();
        assert_eq!(&got, want, "{key}: relarc stats differs from STATS.json");
        checked += 1;
    }
    assert!(checked >= 24, "only {checked} files were checked");
}

#[test]
fn stats_table_names_the_figures() {
    let Some(data) = common::data_dir() else { return };
    let out = common::run(&["stats", data.join("conll04/dev.json").to_str().unwrap()]);
    let text = common::stdout(&out);
    assert!(text.contains("sentences            243"), "{text}");
    assert!(
        text.contains("entities             877 (Loc 337, Org 190, Other 125, Peop 225)"),
        "{text}"
    );
    assert!(text.contains("longest sentence     114 tokens"), "{text}");
}

//! The models shipped in `models/` and which one fits a corpus: the one whose entity types it
//! shares most, read from each model's `vocab.json` without loading its weights.

use std::path::{Path, PathBuf};

/// The model used when nothing decides between them.
const DEFAULT: &str = "conll04";

/// The `models/` folders: in the current folder, and beside the source.
fn roots() -> Vec<PathBuf> {
    let mut out = vec![PathBuf::from("models")];
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    if beside.canonicalize().ok() != out[0].canonicalize().ok() {
        out.push(beside);
    }
    out
}

/// Every shipped model folder (one holding `config.json`, or a combined one), by name.
pub fn shipped_models() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for root in roots() {
        let Ok(entries) = std::fs::read_dir(&root) else {
            continue;
        };
        // `models/default` is a link to `models/conll04`, kept for the old path: listed once.
        let mut dirs: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| !t.is_symlink()))
            .map(|e| e.path())
            .filter(|p| p.join("config.json").exists() || super::combined::is_combined(p))
            .collect();
        dirs.sort();
        out.extend(dirs);
    }
    out
}

/// The entity types of the model in `dir`, from its `vocab.json` (a combined model's: its
/// first member's, which all members share).
pub fn entity_types(dir: &Path) -> Option<Vec<String>> {
    let first = super::combined::model_dirs(dir).ok()?.into_iter().next()?;
    let text = std::fs::read_to_string(first.join("vocab.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    serde_json::from_value(v.get("entity_types")?.clone()).ok()
}

/// The shipped model that shares the most entity types with `types`; the default model when
/// none shares any (or `types` is empty: raw text).
pub fn fitting_model(types: &[String]) -> Option<PathBuf> {
    let models = shipped_models();
    let shared = |m: &PathBuf| entity_types(m).map_or(0, |t| t.iter().filter(|x| types.contains(x)).count());
    let best = models
        .iter()
        .max_by_key(|m| (shared(m), m.file_name().is_some_and(|n| n == DEFAULT)))?;
    if shared(best) > 0 {
        return Some(best.clone());
    }
    models
        .into_iter()
        .find(|m| m.file_name().is_some_and(|n| n == DEFAULT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_model_that_fits_the_corpus_types_is_chosen() {
        let ade = ["Adverse-Effect".to_string(), "Drug".to_string()];
        assert!(fitting_model(&ade).unwrap().ends_with("models/ade"));
        let conll04 = ["Loc".to_string(), "Peop".to_string()];
        assert!(fitting_model(&conll04).unwrap().ends_with("models/conll04"));
        assert!(
            fitting_model(&[]).unwrap().ends_with("models/conll04"),
            "raw text: the default"
        );
        assert_eq!(entity_types(&fitting_model(&ade).unwrap()).unwrap(), ade);
    }

    #[test]
    fn the_old_default_path_still_names_the_conll04_model_which_is_listed_once() {
        let names: Vec<String> = shipped_models()
            .iter()
            .map(|m| m.file_name().unwrap().to_string_lossy().to_string())
            .collect();
        assert_eq!(names.iter().filter(|n| *n == "conll04").count(), 1, "{names:?}");
        assert!(!names.contains(&"default".to_string()), "{names:?}");
        let old = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default");
        assert_eq!(entity_types(&old), entity_types(&old.with_file_name("conll04")));
        assert!(entity_types(&old).is_some());
    }
}

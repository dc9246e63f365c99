//! `entra-csa validate` and `entra-csa schema` end to end: the examples are
//! valid (against the loader and the committed JSON Schema), files on disk
//! that are broken in ways only a file can be, and the schema is not stale.

use std::path::{Path, PathBuf};

use entra_csa::desired::load::{load_files, load_texts};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn entra_csa() -> Command {
    let mut command = crate::launch::entra_csa();
    command.current_dir(root()).env("NO_COLOR", "1");
    command
}

/// Runs the tool; returns (exit code, stdout, stderr).
fn run(args: &[&str], folder: &Path) -> (i32, String, String) {
    let output = entra_csa().current_dir(folder).args(args).output().expect("runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Not a pipeline (`examples/ci`) or a Kubernetes manifest (`examples/kubernetes`).
fn is_desired_state_example(path: &Path) -> bool {
    !path.starts_with(root().join("examples/ci")) && !path.starts_with(root().join("examples/kubernetes"))
}

/// Every YAML file under `examples/` (recursively), relative to the package root.
fn example_files() -> Vec<PathBuf> {
    fn walk(folder: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|extension| extension == "yaml" || extension == "yml") {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(&root().join("examples"), &mut found);
    found.sort();
    found
}

#[test]
fn the_examples_are_valid() {
    for target in ["examples/", "examples/contoso.yaml", "examples/minimal", "examples/split/"] {
        let (code, stdout, stderr) = run(&["validate", "-f", target], &root());
        assert_eq!(code, 0, "{target}: {stdout}{stderr}");
        assert!(stdout.starts_with("valid: "), "{stdout}");
    }
}

#[test]
fn the_split_example_is_the_same_tenant() {
    let whole = load_files(&[root().join("examples/contoso.yaml")]).unwrap();
    let split = load_files(&[root().join("examples/split")]).unwrap();
    assert_eq!(whole, split);
}

#[test]
fn every_desired_state_example_starts_with_the_schema_modeline() {
    let examples: Vec<PathBuf> =
        example_files().into_iter().filter(|path| is_desired_state_example(path)).collect();
    assert!(examples.len() >= 7, "{examples:?}");
    for path in examples {
        let text = std::fs::read_to_string(&path).unwrap();
        let first = text.lines().next().unwrap_or_default();
        let schema = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| panic!("{} does not start with the modeline", path.display()));
        let resolved = path.parent().unwrap().join(schema);
        assert_eq!(
            std::fs::canonicalize(&resolved).unwrap(),
            std::fs::canonicalize(root().join("schema/entra-csa.schema.json")).unwrap(),
            "{}",
            path.display()
        );
    }
}

#[test]
fn the_examples_validate_against_the_committed_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schema/entra-csa.schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    for path in example_files().into_iter().filter(|path| is_desired_state_example(path)) {
        let document: serde_json::Value =
            serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let errors: Vec<String> = validator.iter_errors(&document).map(|error| error.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

#[test]
fn the_schema_rejects_what_validate_rejects_structurally() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schema/entra-csa.schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for bad in [
        "version: 1\nattributeSet: {}\n",
        "version: 2\n",
        "attributeSets: {}\n",
        "version: 1\nattributeSets:\n  Eng_1: {}\n",
        "version: 1\nattributeSets:\n  Eng:\n    attributes:\n      A:\n        type: Text\n",
        "version: 1\npolicy:\n  undeclaredValues: delete\n",
        // The files never clear a description or a maximum: `null` is refused by both.
        "version: 1\nattributeSets:\n  Eng:\n    description: null\n",
        "version: 1\nattributeSets:\n  Eng:\n    maxAttributesPerSet: null\n",
        "version: 1\nattributeSets:\n  Eng:\n    attributes:\n      A:\n        type: String\n        description: null\n",
    ] {
        let document: serde_json::Value = serde_saphyr::from_str(bad).unwrap();
        assert!(!validator.is_valid(&document), "the schema accepts {bad:?}");
    }
}

#[test]
fn the_committed_schema_is_current() {
    let committed = std::fs::read_to_string(root().join("schema/entra-csa.schema.json")).unwrap();
    let generated = entra_csa::desired::manifest::json_schema();
    assert!(
        committed == generated,
        "schema/entra-csa.schema.json is stale: run `cargo run -- schema > schema/entra-csa.schema.json`"
    );
    let (code, stdout, _) = run(&["schema"], &root());
    assert_eq!(code, 0);
    assert_eq!(stdout, generated);
}

#[test]
fn the_schema_describes_keys_for_editors() {
    let schema: serde_json::Value =
        serde_json::from_str(&entra_csa::desired::manifest::json_schema()).unwrap();
    let attribute = &schema["$defs"]["AttributeSpec"]["properties"];
    for key in ["description", "type", "isCollection", "isSearchable", "usePreDefinedValuesOnly", "status"] {
        assert!(attribute[key]["description"].is_string(), "{key} has no description");
    }
}

#[test]
fn invalid_files_exit_1_with_every_problem_and_a_summary() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(
        folder.path().join("a.yaml"),
        "version: 1\nattributeSets:\n  Eng:\n    desciption: x\n    attributes:\n      A_B:\n        type: String\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run(&["validate", "-f", "a.yaml"], folder.path());
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stderr.contains("a.yaml:4:5: error: unknown key `desciption`"), "{stderr}");
    assert!(stderr.contains("help: did you mean `description`?"), "{stderr}");
    assert!(stderr.contains("a.yaml:6:7: error: the attribute name `A_B` contains `_`"), "{stderr}");
    assert!(stderr.trim_end().ends_with("2 errors"), "{stderr}");
}

#[test]
fn github_format_writes_annotations() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("a.yaml"), "version: 1\nattributeSets:\n  1Eng: {}\n").unwrap();
    let (code, stdout, stderr) = run(&["validate", "--format", "github", "-f", "a.yaml"], folder.path());
    assert_eq!(code, 1);
    assert!(
        stdout.starts_with("::error file=a.yaml,line=3,col=3,title=entra-csa validate::the attribute set name `1Eng` starts with a digit"),
        "{stdout}"
    );
    assert!(stderr.contains("1 error"), "{stderr}");
}

#[test]
fn a_non_utf8_file_is_located_at_its_first_bad_byte() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("latin1.yaml"), b"version: 1\nattributeSets:\n  Caf\xe9: {}\n")
        .unwrap();
    let (code, _, stderr) = run(&["validate", "-f", "latin1.yaml"], folder.path());
    assert_eq!(code, 1);
    assert!(stderr.contains("latin1.yaml:3:6: error: the file is not UTF-8 (invalid byte 0xE9)"), "{stderr}");
}

#[test]
fn a_folder_with_the_same_set_twice_names_both_files() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::create_dir(folder.path().join("sets")).unwrap();
    std::fs::write(folder.path().join("sets/a.yaml"), "version: 1\nattributeSets:\n  Eng: {}\n").unwrap();
    std::fs::write(folder.path().join("sets/b.yml"), "version: 1\nattributeSets:\n  Eng: {}\n").unwrap();
    std::fs::write(folder.path().join("sets/notes.txt"), "not yaml: [").unwrap();
    let (code, _, stderr) = run(&["validate", "-f", "sets"], folder.path());
    assert_eq!(code, 1);
    assert!(stderr.contains("b.yml:3:3: error: attribute set `Eng` is declared twice"), "{stderr}");
    assert!(stderr.contains("a.yaml:3:3"), "{stderr}");
    assert!(stderr.trim_end().ends_with("1 error"), "{stderr}");
}

#[test]
fn missing_paths_and_empty_folders_are_errors() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::create_dir(folder.path().join("empty")).unwrap();
    let (code, _, stderr) = run(&["validate", "-f", "nope.yaml", "-f", "empty"], folder.path());
    assert_eq!(code, 1);
    assert!(stderr.contains("nope.yaml:1:1: error: no such file or folder"), "{stderr}");
    assert!(stderr.contains("empty:1:1: error: the folder holds no desired-state files"), "{stderr}");
}

/// A file of several megabytes: 25,000 users. Valid, it loads; with one bad
/// value at the very end, the error names that line.
#[test]
fn a_file_of_several_megabytes_loads_and_is_located() {
    let mut text = String::from(
        "version: 1\nattributeSets:\n  Eng:\n    attributes:\n      Cost:\n        type: Integer\n      Project:\n        type: String\n        isCollection: true\nassignments:\n  users:\n",
    );
    for index in 0..25_000 {
        text.push_str(&format!(
            "    user{index}@contoso.com:\n      Eng:\n        Cost: {index}\n        Project: [Alpine, Baker, Project{}]\n",
            index % 97
        ));
    }
    assert!(text.len() > 2_500_000, "{} bytes", text.len());
    let desired = load_texts(&[("big.yaml".into(), text.clone())]).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(desired.assignments.len(), 25_000);

    let lines = text.lines().count() as u64;
    text.push_str("    last@contoso.com:\n      Eng:\n        Cost: lots\n");
    let diagnostics = load_texts(&[("big.yaml".into(), text)]).unwrap_err();
    assert_eq!(diagnostics.len(), 1, "{diagnostics}");
    let diagnostic = diagnostics.iter().next().unwrap();
    assert_eq!((diagnostic.place.line, diagnostic.place.column), (lines + 3, 15), "{diagnostic}");
}

/// Alias expansion is bounded: a "billion laughs" document is refused, quickly.
#[test]
fn a_yaml_bomb_is_refused() {
    let mut text = String::from("version: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..12 {
        let previous = format!("*a{}", level - 1);
        text.push_str(&format!("a{level}: &a{level} [{}]\n", vec![previous; 10].join(", ")));
    }
    let diagnostics = load_texts(&[("bomb.yaml".into(), text)]).unwrap_err();
    assert!(diagnostics.to_string().contains("bomb.yaml:"), "{diagnostics}");
}

#[test]
fn plan_refuses_invalid_files_before_reading_the_tenant() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("a.yaml"), "version: 1\nattributeSets:\n  A_: {}\n").unwrap();
    // The state file does not exist: had plan read the tenant, it would say so.
    let (code, _, stderr) = run(&["plan", "-f", "a.yaml", "--state", "absent.json"], folder.path());
    assert_eq!(code, 1);
    assert!(stderr.contains("a.yaml:3:3: error:"), "{stderr}");
    assert!(stderr.contains("1 error in the desired-state files"), "{stderr}");
    assert!(!stderr.contains("absent.json"), "{stderr}");
}

/// The golden output of `validate` on the files of `tests/fixtures/validate/<case>/`
/// (`UPDATE_GOLDENS=1` rewrites `validate.txt`).
#[test]
fn validate_messages_match_their_goldens() {
    let update = std::env::var_os("UPDATE_GOLDENS").is_some_and(|value| value == "1");
    let root = root().join("tests/fixtures/validate");
    let mut cases: Vec<PathBuf> =
        std::fs::read_dir(&root).unwrap().map(|entry| entry.unwrap().path()).collect();
    cases.sort();
    assert!(!cases.is_empty());
    for case in cases {
        let (code, stdout, stderr) = run(&["validate", "-f", "desired.yaml"], &case);
        assert_eq!(code, 1, "{}: {stdout}{stderr}", case.display());
        let output = format!("{stdout}{stderr}");
        let golden = case.join("validate.txt");
        if update {
            std::fs::write(&golden, &output).unwrap();
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_default();
        assert_eq!(output, expected, "{} (UPDATE_GOLDENS=1 rewrites it)", golden.display());
    }
}

#[test]
fn a_misspelt_type_is_one_error_not_one_per_assignment() {
    let folder = root().join("tests/fixtures/validate/first-hour");
    let (_, _, stderr) = run(&["validate", "-f", "desired.yaml"], &folder);
    assert!(stderr.contains("`string` is not a valid `type`"), "{stderr}");
    assert!(stderr.contains("help: did you mean `String`?"), "{stderr}");
    assert!(!stderr.contains("not declared"), "{stderr}");
    assert!(stderr.contains("help: did you mean `maxAttributesPerSet`?"), "{stderr}");
    assert!(stderr.contains("help: write true: YAML 1.2 reads `yes` as a string"), "{stderr}");
    assert!(stderr.contains("help: write false: YAML 1.2 reads `off` as a string"), "{stderr}");
    assert!(stderr.contains("help: write it unquoted: 1001"), "{stderr}");
}

/// The loader refuses `null` where the schema does, saying how to go on.
#[test]
fn a_null_description_or_maximum_is_refused_with_how_to_keep_the_value() {
    let text = "version: 1\nattributeSets:\n  Eng:\n    description: null\n    maxAttributesPerSet: null\n    attributes:\n      A:\n        type: String\n        description: null\n";
    let problems = load_texts(&[("nulls.yaml".into(), text.to_owned())]).unwrap_err().to_string();
    for expected in [
        "nulls.yaml:4:18: error: `description` is null",
        "nulls.yaml:5:26: error: `maxAttributesPerSet` is null",
        "nulls.yaml:9:22: error: `description` is null",
        "leave `maxAttributesPerSet` out to keep the tenant's value; entra-csa does not clear it",
    ] {
        assert!(problems.contains(expected), "{expected} missing from {problems}");
    }
}

/// GitHub shows at most 10 error annotations per step: the first 10 are
/// annotated, a warning annotation says how many more there are, the log
/// (stderr) and the job summary (`GITHUB_STEP_SUMMARY`) list every one.
#[test]
fn github_format_keeps_within_the_annotation_limit_and_lists_the_rest() {
    let folder = tempfile::tempdir().unwrap();
    let mut text = String::from("version: 1\nattributeSets:\n");
    for index in 0..37 {
        text.push_str(&format!("  Set{index}:\n    descripton: typo {index}\n"));
    }
    std::fs::write(folder.path().join("a.yaml"), text).unwrap();
    let summary = folder.path().join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let output = crate::launch::entra_csa()
        .current_dir(folder.path())
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args(["validate", "--format", "github", "-f", "a.yaml"])
        .output()
        .unwrap();
    let (code, stdout, stderr) = crate::launch::finished(output);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stdout.lines().filter(|line| line.starts_with("::error ")).count(), 10, "{stdout}");
    let warnings: Vec<&str> = stdout.lines().filter(|line| line.starts_with("::warning ")).collect();
    assert_eq!(warnings.len(), 1, "{stdout}");
    assert!(warnings[0].contains("27 more problem(s) not annotated"), "{}", warnings[0]);
    assert!(warnings[0].contains("the job summary and the log list all 37"), "{}", warnings[0]);
    assert_eq!(stderr.matches("error: unknown key `descripton`").count(), 37, "{stderr}");
    assert!(stderr.trim_end().ends_with("37 errors"), "{stderr}");
    let written = std::fs::read_to_string(&summary).unwrap();
    assert!(written.starts_with("earlier step\n### entra-csa validate: 37 errors"), "appended: {written}");
    assert_eq!(written.matches("error: unknown key `descripton`").count(), 37, "{written}");

    // Without a job summary, the warning points at the log alone.
    let (_, stdout, _) = run(&["validate", "--format", "github", "-f", "a.yaml"], folder.path());
    assert!(stdout.contains("the log list all 37"), "{stdout}");
    assert!(!stdout.contains("job summary"), "{stdout}");
}

//! Invalid desired-state files, one per rule: each must be refused with its
//! message at its line and column — and every problem of a file in one run.

use entra_csa::desired::diagnostic::Diagnostics;
use entra_csa::desired::load::load_texts;

/// A file with one attribute set `Eng` whose attributes are `ATTRS`, and `REST` after it.
fn with_attributes(attributes: &str, rest: &str) -> String {
    format!("version: 1\nattributeSets:\n  Eng:\n    description: d\n    attributes:\n{attributes}{rest}")
}

/// The attributes most cases assign to, on lines 6–19.
const ATTRIBUTES: &str = "      \
Project:
        type: String
        isCollection: true
        usePreDefinedValuesOnly: true
        allowedValues: [Alpine, Baker, {value: Old, active: false}]
      Cost:
        type: Integer
      OnCall:
        type: Boolean
      Note:
        type: String
      Retired:
        type: String
        status: Deprecated
";

/// A file assigning `values` (indented under one set) to alice; the values start on line 24.
fn assigning(values: &str) -> String {
    with_attributes(
        ATTRIBUTES,
        &format!("assignments:\n  users:\n    alice@contoso.com:\n      Eng:\n{values}"),
    )
}

/// A file giving `values` (indented under one set) to the group `key`;
/// the key is on line 22 and the values start on line 24.
fn grouping(key: &str, values: &str) -> String {
    with_attributes(ATTRIBUTES, &format!("assignments:\n  groups:\n    {key}:\n      Eng:\n{values}"))
}

/// A file whose `requirements` list is `rules`; the first rule starts on line 21.
fn requiring(rules: &str) -> String {
    with_attributes(ATTRIBUTES, &format!("requirements:\n{rules}"))
}

struct Case {
    name: &'static str,
    files: Vec<(&'static str, String)>,
    /// (file, line, column, a part of the message or its expectation or suggestion)
    expected: Vec<(&'static str, u64, u64, &'static str)>,
}

fn case(name: &'static str, text: impl Into<String>, expected: Vec<(u64, u64, &'static str)>) -> Case {
    Case {
        name,
        files: vec![("a.yaml", text.into())],
        expected: expected.into_iter().map(|(line, column, text)| ("a.yaml", line, column, text)).collect(),
    }
}

fn cases() -> Vec<Case> {
    vec![
        // ── syntax ──
        case("unclosed flow sequence", "version: 1\nattributeSets: [\n", vec![(2, 16, "unclosed bracket")]),
        case("tab indentation", "version: 1\nattributeSets:\n\tEng: {}\n", vec![(3, 2, "tabs disallowed")]),
        case("duplicate key in a file", "version: 1\nversion: 1\n", vec![(2, 1, "duplicate")]),
        case(
            "duplicate attribute key",
            with_attributes("      A:\n        type: String\n      A:\n        type: Integer\n", ""),
            vec![(8, 7, "duplicate")],
        ),
        case("empty file", "", vec![(1, 1, "the file is empty")]),
        case("comment-only file", "# nothing here\n", vec![(1, 1, "the file is empty")]),
        case("a list at the top", "- version: 1\n", vec![(1, 1, "the file is a list")]),
        // ── version ──
        case("missing version", "attributeSets: {}\n", vec![(1, 1, "has no `version`")]),
        case("version 2", "version: 2\n", vec![(1, 10, "unsupported version 2")]),
        case("version as text", "version: one\n", vec![(1, 10, "`version` is a string")]),
        // ── unknown keys and wrong types ──
        case(
            "unknown top-level key",
            "version: 1\nattributeSet: {}\n",
            vec![(2, 1, "did you mean `attributeSets`?")],
        ),
        case(
            "unknown set key",
            "version: 1\nattributeSets:\n  Eng:\n    desciption: x\n",
            vec![(4, 5, "did you mean `description`?")],
        ),
        case(
            "unknown attribute key",
            with_attributes("      A:\n        type: String\n        isColection: true\n", ""),
            vec![(8, 9, "did you mean `isCollection`?")],
        ),
        case(
            "unknown policy key",
            "version: 1\npolicy:\n  undeclaredDefinition: report\n",
            vec![(3, 3, "did you mean `undeclaredDefinitions`?")],
        ),
        case(
            "unknown assignments key",
            "version: 1\nassignments:\n  user: {}\n",
            vec![(3, 3, "did you mean `users`?")],
        ),
        case(
            "unknown allowed value key",
            with_attributes(
                "      A:\n        type: String\n        allowedValues: [{value: x, activ: true}]\n",
                "",
            ),
            vec![(8, 36, "did you mean `active`?")],
        ),
        case(
            "policy value misspelt",
            "version: 1\npolicy:\n  undeclaredValues: deactivat\n",
            vec![(3, 21, "did you mean `deactivate`?")],
        ),
        case(
            "type misspelt",
            with_attributes("      A:\n        type: Strng\n", ""),
            vec![(7, 15, "did you mean `String`?")],
        ),
        case(
            "type missing",
            with_attributes("      A:\n        description: x\n", ""),
            vec![(6, 7, "has no `type`")],
        ),
        case(
            "status misspelt",
            with_attributes("      A:\n        type: String\n        status: Depreciated\n", ""),
            vec![(8, 17, "did you mean `Deprecated`?")],
        ),
        case(
            "flag as text",
            with_attributes("      A:\n        type: String\n        isCollection: \"yes\"\n", ""),
            vec![(8, 23, "expected: true or false")],
        ),
        case(
            "yes is not a boolean",
            with_attributes("      A:\n        type: String\n        isSearchable: yes\n", ""),
            vec![(8, 23, "`isSearchable` is a string")],
        ),
        case(
            "attributes as a list",
            "version: 1\nattributeSets:\n  Eng:\n    attributes: [A, B]\n",
            vec![(4, 17, "expected: a mapping of attribute names")],
        ),
        case(
            "maxAttributesPerSet as text",
            "version: 1\nattributeSets:\n  Eng:\n    maxAttributesPerSet: many\n",
            vec![(4, 26, "expected: an integer")],
        ),
        case(
            "allowed value as a mapping without value",
            with_attributes("      A:\n        type: String\n        allowedValues: [{active: false}]\n", ""),
            vec![(8, 25, "has no `value`")],
        ),
        case(
            "allowedValues as a string",
            with_attributes("      A:\n        type: String\n        allowedValues: Alpine\n", ""),
            vec![(8, 24, "expected: a list of values")],
        ),
        // ── names and lengths ──
        case(
            "set name with underscore",
            "version: 1\nattributeSets:\n  Eng_Team: {}\n",
            vec![(3, 3, "contains `_`")],
        ),
        case(
            "set name with space",
            "version: 1\nattributeSets:\n  Eng Team: {}\n",
            vec![(3, 3, "contains a space")],
        ),
        case(
            "set name leading digit",
            "version: 1\nattributeSets:\n  1Eng: {}\n",
            vec![(3, 3, "starts with a digit")],
        ),
        case(
            "set name too long",
            "version: 1\nattributeSets:\n  Abcdefghijklmnopqrstuvwxyzabcdefg: {}\n",
            vec![(3, 3, "has 33 characters")],
        ),
        case(
            "attribute name with hyphen",
            with_attributes("      Cost-Center:\n        type: Integer\n", ""),
            vec![(6, 7, "contains `-`")],
        ),
        case(
            "attribute name with dot",
            with_attributes("      Cost.Center:\n        type: Integer\n", ""),
            vec![(6, 7, "try `CostCenter`")],
        ),
        case(
            "set description too long",
            format!("version: 1\nattributeSets:\n  Eng:\n    description: {}\n", "x".repeat(129)),
            vec![(4, 18, "the description has 129 characters")],
        ),
        case(
            "attribute description too long",
            with_attributes(
                &format!("      A:\n        type: String\n        description: {}\n", "y".repeat(200)),
                "",
            ),
            vec![(8, 22, "at most 128 characters")],
        ),
        case(
            "allowed value too long",
            with_attributes(
                &format!("      A:\n        type: String\n        allowedValues: [{}]\n", "v".repeat(65)),
                "",
            ),
            vec![(8, 25, "1 to 64 characters")],
        ),
        case(
            "maxAttributesPerSet out of range",
            "version: 1\nattributeSets:\n  Eng:\n    maxAttributesPerSet: 0\n",
            vec![(4, 26, "a number from 1 to 500")],
        ),
        case(
            "case-only duplicate attribute",
            with_attributes("      Cost:\n        type: Integer\n      cost:\n        type: Integer\n", ""),
            vec![(8, 7, "differs only in case from `Cost`")],
        ),
        // ── Boolean constraints and allowed values ──
        case(
            "Boolean collection",
            with_attributes("      A:\n        type: Boolean\n        isCollection: true\n", ""),
            vec![(8, 23, "cannot be a collection")],
        ),
        case(
            "Boolean predefined-only",
            with_attributes("      A:\n        type: Boolean\n        usePreDefinedValuesOnly: true\n", ""),
            vec![(8, 34, "cannot be restricted to predefined values")],
        ),
        case(
            "Boolean with allowed values",
            with_attributes("      A:\n        type: Boolean\n        allowedValues: [\"true\"]\n", ""),
            vec![(8, 25, "takes no predefined values")],
        ),
        case(
            "101 allowed values",
            with_attributes(
                &format!(
                    "      A:\n        type: String\n        allowedValues: [{}]\n",
                    (0..101).map(|n| format!("v{n}")).collect::<Vec<_>>().join(", ")
                ),
                "",
            ),
            vec![(8, 515, "at most 100 per attribute")],
        ),
        case(
            "allowed value listed twice",
            with_attributes("      A:\n        type: String\n        allowedValues: [x, y, x]\n", ""),
            vec![(8, 31, "`x` is listed twice")],
        ),
        case(
            "Integer allowed value not a number",
            with_attributes("      A:\n        type: Integer\n        allowedValues: [ten]\n", ""),
            vec![(8, 25, "not a 32-bit integer")],
        ),
        // ── assignments ──
        case("undeclared set", assigning("      Nope:\n"), vec![]).with_assigning_set_error(),
        case(
            "undeclared attribute",
            assigning("        Projct: [Alpine]\n"),
            vec![(24, 9, "did you mean `Project`?")],
        ),
        case(
            "deprecated attribute assigned",
            assigning("        Retired: x\n"),
            vec![(24, 9, "is Deprecated and cannot be assigned")],
        ),
        case(
            "string to Integer",
            assigning("        Cost: \"1001\"\n"),
            vec![(24, 15, "write it unquoted: 1001")],
        ),
        case("integer to String", assigning("        Note: 42\n"), vec![(24, 15, "quote it: \"42\"")]),
        case(
            "string to Boolean",
            assigning("        OnCall: \"true\"\n"),
            vec![(24, 17, "a string is assigned to the Boolean attribute")],
        ),
        case(
            "list to single value",
            assigning("        Cost: [1, 2]\n"),
            vec![(24, 15, "a list is assigned to a single-valued attribute")],
        ),
        case(
            "scalar to collection",
            assigning("        Project: Alpine\n"),
            vec![(24, 18, "write it as a list")],
        ),
        case("empty list", assigning("        Project: []\n"), vec![(24, 18, "leave the attribute out")]),
        case(
            "value not predefined",
            assigning("        Project: [Alpine, Bakr]\n"),
            vec![(24, 27, "did you mean `Baker`?")],
        ),
        // A deactivated value may be declared (a principal keeps one it
        // holds): only a new assignment of it is refused, by the plan
        // (convergence_regressions).
        case(
            "value listed twice",
            assigning("        Project: [Alpine, Alpine]\n"),
            vec![(24, 27, "is listed twice")],
        ),
        case(
            "integer overflow",
            assigning("        Cost: 3000000000\n"),
            vec![(24, 15, "does not fit in 32 bits")],
        ),
        case(
            "value too long",
            assigning(&format!("        Note: {}\n", "n".repeat(65))),
            vec![(24, 15, "1 to 64 characters")],
        ),
        case(
            "nested list",
            assigning("        Project: [[Alpine]]\n"),
            vec![(24, 19, "expected: an integer or a string")],
        ),
        case(
            "more than 50 values",
            with_attributes(
                "      Many:\n        type: Integer\n        isCollection: true\n",
                &format!(
                    "assignments:\n  users:\n    alice@contoso.com:\n      Eng:\n        Many: [{}]\n",
                    (0..51).map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
                ),
            ),
            vec![(11, 5, "at most 50 per principal")],
        ),
        case(
            "user key not a UPN",
            with_attributes(ATTRIBUTES, "assignments:\n  users:\n    alice:\n      Eng: {}\n"),
            vec![(22, 5, "a userPrincipalName (name@domain) or an object id")],
        ),
        case(
            "service principal by display name",
            with_attributes(
                ATTRIBUTES,
                "assignments:\n  servicePrincipals:\n    Build Service:\n      Eng: {}\n",
            ),
            vec![(22, 5, "keyed by appId, not by display name")],
        ),
        case(
            "service principal id: without a GUID",
            with_attributes(ATTRIBUTES, "assignments:\n  servicePrincipals:\n    id:build:\n      Eng: {}\n"),
            vec![(22, 5, "`id:<object id>`")],
        ),
        // ── across files ──
        Case {
            name: "set declared in two files",
            files: vec![
                ("a.yaml", "version: 1\nattributeSets:\n  Eng: {}\n".into()),
                ("b.yaml", "version: 1\nattributeSets:\n  Mkt: {}\n  Eng: {}\n".into()),
            ],
            expected: vec![("b.yaml", 4, 3, "first declared at: a.yaml:3:3")],
        },
        Case {
            name: "sets differing only in case across files",
            files: vec![
                ("a.yaml", "version: 1\nattributeSets:\n  Eng: {}\n".into()),
                ("b.yaml", "version: 1\nattributeSets:\n  ENG: {}\n".into()),
            ],
            expected: vec![("b.yaml", 3, 3, "differs only in case from `Eng`")],
        },
        Case {
            name: "principal declared in two files",
            files: vec![
                (
                    "a.yaml",
                    with_attributes(
                        ATTRIBUTES,
                        "assignments:\n  users:\n    bob@contoso.com:\n      Eng: {}\n",
                    ),
                ),
                (
                    "b.yaml",
                    "version: 1\nassignments:\n  users:\n    bob@contoso.com:\n      Eng: {}\n".into(),
                ),
            ],
            expected: vec![("b.yaml", 4, 5, "first declared at: a.yaml:22:5")],
        },
        Case {
            name: "policy in two files",
            files: vec![
                ("a.yaml", "version: 1\npolicy:\n  undeclaredValues: report\n".into()),
                ("b.yaml", "version: 1\npolicy: {}\n".into()),
            ],
            expected: vec![("b.yaml", 2, 9, "`policy` is declared twice")],
        },
        // ── assignments.groups ──
        case(
            "group value written as a mapping without `value`",
            grouping("Eng-Payments", "        Project: {authoritative: true}\n"),
            vec![(24, 18, "`Project` has no `value`")],
        ),
        case(
            "group value with an unknown key",
            grouping("Eng-Payments", "        Project: {value: [Alpine], authoritive: true}\n"),
            vec![(24, 36, "did you mean `authoritative`?")],
        ),
        case(
            "group authoritative that is not a boolean",
            grouping(
                "Eng-Payments",
                "        Project:\n          value: [Alpine]\n          authoritative: yes\n",
            ),
            vec![(26, 26, "`authoritative` is a string")],
        ),
        case(
            "group value of the wrong type",
            grouping(
                "Eng-Payments",
                "        Cost:\n          value: seven\n          authoritative: true\n",
            ),
            vec![(25, 18, "expected: an Integer value")],
        ),
        case(
            "group assigning an undeclared attribute",
            grouping("6a1f0c2e-0000-4000-8000-000000000001", "        Projet: [Alpine]\n"),
            vec![(24, 9, "did you mean `Project`?")],
        ),
        case(
            "group key with a trailing space",
            grouping("\"Eng-Payments \"", "        Cost: 1\n"),
            vec![(22, 5, "does not name a group")],
        ),
        case(
            "group keys differing only in case",
            with_attributes(
                ATTRIBUTES,
                "assignments:\n  groups:\n    Ops:\n      Eng: {Cost: 1}\n    OPS:\n      Eng: {Cost: 2}\n",
            ),
            vec![(24, 5, "differs only in case from `Ops`")],
        ),
        case(
            "group keys differing only in case beyond ASCII",
            with_attributes(
                ATTRIBUTES,
                "assignments:\n  groups:\n    Ärzte:\n      Eng: {Cost: 1}\n    ärzte:\n      Eng: {Cost: 2}\n",
            ),
            vec![(24, 5, "differs only in case from `Ärzte`")],
        ),
        // ── requirements ──
        case(
            "a requirement on an attribute the files do not declare",
            requiring("  - name: r\n    principals: users\n    mustHold: Eng.Projet\n"),
            vec![(23, 15, "did you mean `Eng.Project`?")],
        ),
        case(
            "a requirement on a set the files do not declare",
            requiring("  - name: r\n    principals: users\n    mustHold: Engg.Cost\n"),
            vec![(23, 15, "the attribute set `Engg` is not declared")],
        ),
        case(
            "a requirement's value of the wrong type",
            requiring("  - name: r\n    principals: users\n    mustHold: Eng.Cost\n    oneOf: [high]\n"),
            vec![(24, 13, "a string is listed for the Integer attribute `Eng.Cost`")],
        ),
        case(
            "a requirement's value that is not an allowed value",
            requiring(
                "  - name: r\n    principals: users\n    mustHold: Eng.Project\n    oneOf: [Alpine, Zulu]\n",
            ),
            vec![(24, 21, "`Zulu` is not an allowed value of `Eng.Project`")],
        ),
        case(
            "two requirements with one name",
            requiring(
                "  - name: tiered\n    principals: users\n    mustHold: Eng.Cost\n  - name: Tiered\n    principals: agentUsers\n    mustHold: Eng.Cost\n",
            ),
            vec![(24, 11, "the requirement `Tiered` is declared twice")],
        ),
        case(
            "a population that does not exist",
            requiring("  - name: r\n    principals: agentIdentity\n    mustHold: Eng.Cost\n"),
            vec![(22, 17, "did you mean `agentIdentities`?")],
        ),
        case(
            "a group written as a keyword",
            requiring("  - name: r\n    principals: Eng-Agents\n    mustHold: Eng.Cost\n"),
            vec![(22, 17, "write `principals: {group: Eng-Agents}`")],
        ),
        case(
            "an unknown key in a requirement",
            requiring("  - name: r\n    principals: users\n    mustHave: Eng.Cost\n"),
            vec![(21, 5, "has no `mustHold`"), (23, 5, "unknown key `mustHave` in a requirement")],
        ),
        case(
            "an empty oneOf",
            requiring("  - name: r\n    principals: users\n    mustHold: Eng.Cost\n    oneOf: []\n"),
            vec![(24, 12, "`oneOf` is empty")],
        ),
        case(
            "an onFailure that does not exist",
            requiring("  - name: r\n    principals: users\n    mustHold: Eng.Cost\n    onFailure: fail\n"),
            vec![(24, 16, "is not a valid `onFailure`")],
        ),
        case(
            "every problem of several requirements in one run",
            requiring(
                "  - name: r\n    principals: agentIdentity\n    mustHold: Eng.Projet\n  - name: R\n    principals: Eng-Agents\n    mustHold: Eng.Project\n    oneOf: [Alpine, Zulu]\n    onFailure: block\n",
            ),
            vec![
                (22, 17, "did you mean `agentIdentities`?"),
                (23, 15, "did you mean `Eng.Project`?"),
                (24, 11, "is declared twice"),
                (25, 17, "write `principals: {group: Eng-Agents}`"),
                (27, 21, "`Zulu` is not an allowed value"),
                (28, 16, "is not a valid `onFailure`"),
            ],
        ),
        // ── every problem in one run ──
        case(
            "several problems at once",
            "version: 1\nattributeSets:\n  Eng_1:\n    desc: x\n    attributes:\n      A:\n        type: Text\n",
            vec![(3, 3, "contains `_`"), (4, 5, "unknown key `desc`"), (7, 15, "is not a valid `type`")],
        ),
    ]
}

impl Case {
    /// The assignment to an undeclared set, at its key.
    fn with_assigning_set_error(mut self) -> Self {
        self.expected = vec![("a.yaml", 24, 7, "attribute set `Nope` is not declared")];
        self
    }
}

fn check(case: &Case) -> Result<(), String> {
    let files: Vec<(String, String)> =
        case.files.iter().map(|(name, text)| (name.to_string(), text.clone())).collect();
    let diagnostics: Diagnostics = match load_texts(&files) {
        Ok(_) => return Err(format!("{}: accepted, but should be refused", case.name)),
        Err(diagnostics) => diagnostics,
    };
    if diagnostics.len() != case.expected.len() {
        return Err(format!(
            "{}: {} problems reported, {} expected:\n{diagnostics}",
            case.name,
            diagnostics.len(),
            case.expected.len()
        ));
    }
    for (diagnostic, (file, line, column, text)) in diagnostics.iter().zip(&case.expected) {
        let rendered = diagnostic.to_string();
        let found = (diagnostic.place.file.as_str(), diagnostic.place.line, diagnostic.place.column);
        if found != (*file, *line, *column) || !rendered.contains(text) {
            return Err(format!(
                "{}: expected {file}:{line}:{column} with {text:?}, got:\n{rendered}",
                case.name
            ));
        }
    }
    Ok(())
}

#[test]
fn every_invalid_input_is_refused_at_its_place() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let failures: Vec<String> = cases.iter().filter_map(|case| check(case).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_base_files_of_the_cases_are_valid() {
    let files =
        vec![("a.yaml".to_string(), assigning("        Project: [Alpine, Baker]\n        Cost: 7\n"))];
    load_texts(&files).unwrap_or_else(|diagnostics| panic!("{diagnostics}"));
}

#[test]
fn the_summary_counts_the_errors() {
    let files = vec![("a.yaml".to_string(), "version: 1\nattributeSets:\n  A_: {}\n  B_: {}\n".to_string())];
    let diagnostics = load_texts(&files).unwrap_err();
    assert!(diagnostics.to_string().ends_with("2 errors"), "{diagnostics}");
}

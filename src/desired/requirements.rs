//! `requirements`: coverage rules, checked against the files alone and
//! gathered into the desired state. Each rule names an attribute the files
//! declare (`mustHold: Set.Attribute`), values of its type (and among its
//! allowed values when only those may be assigned), and a name no other rule
//! has. Who breaks a rule is the plan's business (`plan::coverage`).

use std::collections::{BTreeMap, BTreeSet};

use crate::desired::diagnostic::{Diagnostic, Place, nearest};
use crate::desired::manifest::{AssignedValue, Located, ManifestFile, RequirementSpec};
use crate::desired::yaml::Position;
use crate::model::requirement::Requirement;
use crate::model::{DataType, Definition, DesiredState, MAX_VALUE_LEN};

/// Adds every file's requirements to `desired`, and a problem for each one
/// that cannot be checked as written. `refused` holds the `(set, attribute)`
/// (attribute empty for a whole set) declared but refused for a problem
/// reported already: a rule naming one is not reported again.
pub fn gather(
    files: &[(String, ManifestFile)],
    desired: &mut DesiredState,
    refused: &BTreeSet<(String, String)>,
    problems: &mut Vec<Diagnostic>,
) {
    // Names compare ignoring case: two rules that differ only so would read
    // as one in a report.
    let mut first_place: BTreeMap<String, Place> = BTreeMap::new();
    let mut gathered = Vec::new();
    for (file, manifest) in files {
        for (index, spec) in manifest.requirements.iter().enumerate() {
            let path = format!("requirements[{index}]");
            let mut check = Check { file, path: &path, problems };
            let name = spec.name.value.trim();
            if name.is_empty() {
                check.report(spec.name.at, "name", "the requirement's name is empty").expected =
                    Some("what the rule is for, e.g. `every agent carries a risk tier`".to_owned());
                continue;
            }
            let folded = name.to_lowercase();
            let duplicate = first_place.contains_key(&folded);
            if let Some(first) = first_place.get(&folded) {
                let problem =
                    check.report(spec.name.at, "name", format!("the requirement `{name}` is declared twice"));
                problem.related = Some(first.clone());
                problem.suggestion = Some("give each requirement its own name".to_owned());
            } else {
                first_place.insert(folded, place(file, spec.name.at));
            }
            // A second rule of one name is still checked, so that every
            // problem shows in one run, and then left out.
            if let Some(requirement) = check.requirement(spec, name, desired, refused)
                && !duplicate
            {
                gathered.push(requirement);
            }
        }
    }
    desired.requirements = gathered;
}

fn place(file: &str, at: Position) -> Place {
    Place { file: file.to_owned(), line: at.line, column: at.column }
}

/// One rule being checked: its file and path, and where problems go.
struct Check<'a> {
    file: &'a str,
    path: &'a str,
    problems: &'a mut Vec<Diagnostic>,
}

impl Check<'_> {
    fn report(&mut self, at: Position, key: &str, message: impl Into<String>) -> &mut Diagnostic {
        let path = format!("{}.{key}", self.path);
        self.problems.push(Diagnostic::new(place(self.file, at), path, message));
        self.problems.last_mut().expect("just pushed")
    }

    fn requirement(
        &mut self,
        spec: &RequirementSpec,
        name: &str,
        desired: &DesiredState,
        refused: &BTreeSet<(String, String)>,
    ) -> Option<Requirement> {
        let (set, attribute) = self.attribute(&spec.must_hold, desired, refused)?;
        let definition = desired.definition(&set, &attribute).expect("checked above");
        let mut one_of: Vec<String> = Vec::new();
        let mut fine = true;
        for (index, value) in spec.one_of.iter().enumerate() {
            match self.value(definition, value, index) {
                Some(text) if one_of.contains(&text) => {
                    self.report(value.at, &format!("oneOf[{index}]"), format!("`{text}` is listed twice"));
                    fine = false;
                }
                Some(text) => one_of.push(text),
                None => fine = false,
            }
        }
        if !fine {
            return None;
        }
        Some(Requirement {
            name: name.to_owned(),
            principals: spec.principals.value.clone(),
            set,
            attribute,
            one_of,
            on_failure: spec.on_failure.as_ref().map(|choice| choice.value).unwrap_or_default(),
        })
    }

    /// `mustHold`: `Set.Attribute`, declared in the files.
    fn attribute(
        &mut self,
        must_hold: &Located<String>,
        desired: &DesiredState,
        refused: &BTreeSet<(String, String)>,
    ) -> Option<(String, String)> {
        let written = must_hold.value.trim();
        let Some((set, attribute)) = written
            .split_once('.')
            .filter(|(set, attribute)| !set.is_empty() && !attribute.is_empty() && !attribute.contains('.'))
        else {
            self.report(must_hold.at, "mustHold", format!("`{written}` is not an attribute")).expected =
                Some("`Set.Attribute`, e.g. `AgentGovernance.RiskTier`".to_owned());
            return None;
        };
        if refused.contains(&(set.to_owned(), String::new()))
            || refused.contains(&(set.to_owned(), attribute.to_owned()))
        {
            return None;
        }
        let Some(declared_set) = desired.attribute_sets.get(set) else {
            let problem = self.report(
                must_hold.at,
                "mustHold",
                format!("the attribute set `{set}` is not declared in the files"),
            );
            problem.expected = Some("an attribute the files declare under `attributeSets`".to_owned());
            problem.suggestion = nearest(set, desired.attribute_sets.keys().map(String::as_str))
                .map(|near| format!("did you mean `{near}.{attribute}`?"));
            return None;
        };
        if !declared_set.attributes.contains_key(attribute) {
            let problem = self.report(
                must_hold.at,
                "mustHold",
                format!("the attribute `{attribute}` is not declared in the set `{set}`"),
            );
            problem.expected = Some(format!(
                "one of the attributes of `{set}`: {}",
                declared_set.attributes.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
            ));
            problem.suggestion = nearest(attribute, declared_set.attributes.keys().map(String::as_str))
                .map(|near| format!("did you mean `{set}.{near}`?"));
            return None;
        }
        Some((set.to_owned(), attribute.to_owned()))
    }

    /// One value of `oneOf`, as the text a held value's members compare
    /// with: of the definition's type, and among its allowed values when
    /// only those may be assigned.
    fn value(
        &mut self,
        definition: &Definition,
        value: &Located<AssignedValue>,
        index: usize,
    ) -> Option<String> {
        let key = format!("oneOf[{index}]");
        let attribute = format!("{}.{}", definition.attribute_set, definition.name);
        let text = match (&value.value, definition.data_type) {
            (AssignedValue::Reported, _) => return None,
            (AssignedValue::Boolean(flag), DataType::Boolean) => flag.to_string(),
            (AssignedValue::Integer(number), DataType::Integer) => match i32::try_from(*number) {
                Ok(number) => number.to_string(),
                Err(_) => {
                    self.report(value.at, &key, format!("{number} does not fit in 32 bits")).expected =
                        Some(format!("an integer from {} to {}", i32::MIN, i32::MAX));
                    return None;
                }
            },
            (AssignedValue::String(text), DataType::String) => {
                let length = text.chars().count();
                if length == 0 || length > MAX_VALUE_LEN {
                    self.report(value.at, &key, format!("the value has {length} characters")).expected =
                        Some(format!("1 to {MAX_VALUE_LEN} characters"));
                    return None;
                }
                text.clone()
            }
            (written, expected) => {
                let article = if expected == DataType::Integer { "an" } else { "a" };
                let problem = self.report(
                    value.at,
                    &key,
                    format!("{} is listed for the {expected} attribute `{attribute}`", written.kind()),
                );
                problem.expected = Some(format!("{article} {expected} value"));
                problem.suggestion = match (written, expected) {
                    (AssignedValue::Integer(number), DataType::String) => {
                        Some(format!("quote it: \"{number}\""))
                    }
                    (AssignedValue::String(text), DataType::Boolean) => {
                        crate::desired::diagnostic::boolean_hint(text)
                    }
                    (AssignedValue::String(text), DataType::Integer) if text.parse::<i32>().is_ok() => {
                        Some(format!("write it unquoted: {text}"))
                    }
                    _ => None,
                };
                return None;
            }
        };
        if definition.use_pre_defined_values_only && definition.allowed_value(&text).is_none() {
            let allowed: Vec<&str> =
                definition.allowed_values.iter().map(|value| value.id.as_str()).collect();
            let problem =
                self.report(value.at, &key, format!("`{text}` is not an allowed value of `{attribute}`"));
            problem.expected = Some(if allowed.is_empty() {
                "no value: the attribute has no allowed value yet".to_owned()
            } else {
                format!("one of {}", allowed.join(", "))
            });
            problem.suggestion =
                nearest(&text, allowed.iter().copied()).map(|near| format!("did you mean `{near}`?"));
            return None;
        }
        Some(text)
    }
}

//! Problems found in desired-state files, each with its file, line, column and
//! YAML path, what was expected and a suggestion where one is obvious. The
//! loader and the validator collect them; `validate` prints them all.

use std::fmt;

/// A place in a file: 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Place {
    pub file: String,
    pub line: u64,
    pub column: u64,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One problem in the files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub place: Place,
    /// The YAML path of the offending node, e.g. `attributeSets.Engineering.attributes.Project.type`.
    pub path: String,
    pub message: String,
    pub expected: Option<String>,
    /// A concrete fix, e.g. the nearest known key.
    pub suggestion: Option<String>,
    /// Another place involved, e.g. the first declaration of a duplicate.
    pub related: Option<Place>,
}

impl Diagnostic {
    pub fn new(place: Place, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            place,
            path: path.into(),
            message: message.into(),
            expected: None,
            suggestion: None,
            related: None,
        }
    }

    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    pub fn suggestion(mut self, suggestion: impl Into<String>) -> Self {
        self.suggestion = Some(suggestion.into());
        self
    }

    pub fn suggest_if(self, suggestion: Option<String>) -> Self {
        match suggestion {
            Some(suggestion) => self.suggestion(suggestion),
            None => self,
        }
    }

    pub fn related(mut self, place: Place) -> Self {
        self.related = Some(place);
        self
    }

    /// The whole message on one line: message, expectation, suggestion, related place.
    pub fn one_line(&self) -> String {
        let mut text = self.message.clone();
        if let Some(expected) = &self.expected {
            text.push_str(&format!("; expected {expected}"));
        }
        if let Some(related) = &self.related {
            text.push_str(&format!("; first declared at {related}"));
        }
        if let Some(suggestion) = &self.suggestion {
            text.push_str(&format!("; {suggestion}"));
        }
        text
    }
}

/// `file:line:column: error: message`, then the path, expectation and help lines.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: error: {}", self.place, self.message)?;
        if !self.path.is_empty() {
            writeln!(f, "  at: {}", self.path)?;
        }
        if let Some(expected) = &self.expected {
            writeln!(f, "  expected: {expected}")?;
        }
        if let Some(related) = &self.related {
            writeln!(f, "  first declared at: {related}")?;
        }
        if let Some(suggestion) = &self.suggestion {
            writeln!(f, "  help: {suggestion}")?;
        }
        Ok(())
    }
}

/// Every problem found in one run, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// Sorts by file, line and column, keeping the order of equal places.
    pub fn sort(&mut self) {
        self.0.sort_by(|a, b| a.place.cmp(&b.place));
    }

    /// "1 error", "2 errors".
    pub fn summary(&self) -> String {
        match self.0.len() {
            1 => "1 error".to_owned(),
            n => format!("{n} errors"),
        }
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for diagnostic in &self.0 {
            write!(f, "{diagnostic}")?;
        }
        write!(f, "{}", self.summary())
    }
}

impl std::error::Error for Diagnostics {}

/// The fix for a string written where a Boolean belongs: `"true"` quoted,
/// or a YAML 1.1 boolean word (`yes`, `no`, `on`, `off`, `y`, `n`), which
/// YAML 1.2 reads as a string. `None` for any other string.
pub fn boolean_hint(text: &str) -> Option<String> {
    let lowercase = text.to_ascii_lowercase();
    let meant = match lowercase.as_str() {
        "true" | "false" => return Some(format!("write it unquoted: {lowercase}")),
        "yes" | "y" | "on" => true,
        "no" | "n" | "off" => false,
        _ => return None,
    };
    Some(format!("write {meant}: YAML 1.2 reads `{text}` as a string, only true and false are booleans"))
}

/// The known word nearest to `word`, when it is close enough to be a likely typo.
pub fn nearest<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let known: Vec<&'a str> = known.into_iter().collect();
    // A key cut short (`maxAttributes`) means the key it starts, however far
    // the edit distance says another key is.
    let lowercase = word.to_lowercase();
    let started = known
        .iter()
        .filter(|candidate| lowercase.len() >= 3 && candidate.to_lowercase().starts_with(&lowercase))
        .min_by_key(|candidate| candidate.len());
    if let Some(candidate) = started {
        return Some(candidate);
    }
    known
        .into_iter()
        .map(|candidate| {
            (strsim::damerau_levenshtein(&word.to_lowercase(), &candidate.to_lowercase()), candidate)
        })
        .filter(|(distance, candidate)| *distance <= (candidate.chars().count() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_finds_typos_but_not_strangers() {
        let known = ["description", "type", "isCollection", "allowedValues"];
        assert_eq!(nearest("desciption", known), Some("description"));
        assert_eq!(nearest("iscollection", known), Some("isCollection"));
        assert_eq!(nearest("tpye", known), Some("type"));
        assert_eq!(nearest("owner", known), None);
        assert_eq!(nearest("allowed", known), Some("allowedValues"), "a prefix means the key it starts");
        let set_keys = ["description", "maxAttributesPerSet", "attributes"];
        assert_eq!(nearest("maxAttributes", set_keys), Some("maxAttributesPerSet"));
    }

    #[test]
    fn display_names_the_place_first() {
        let diagnostic =
            Diagnostic::new(Place { file: "a.yaml".into(), line: 3, column: 5 }, "attributeSets.X", "bad")
                .expected("a mapping")
                .suggestion("did you mean `y`?");
        let text = diagnostic.to_string();
        assert!(text.starts_with("a.yaml:3:5: error: bad\n"), "{text}");
        assert!(text.contains("expected: a mapping"));
        assert!(text.contains("help: did you mean `y`?"));
    }
}

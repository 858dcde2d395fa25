//! Data classes: how sensitive a request's content is, as an ordered set that classification
//! may only grow. Pure values: parsing and set arithmetic, never I/O.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// One sensitivity class; the order is the sensitivity order (`public` lowest, `secret` highest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataClass {
    /// Content that may be published.
    Public,
    /// Business content not meant for the public, but with no personal or secret data.
    Internal,
    /// Personal data: e-mail addresses, phone numbers, national ids.
    Pii,
    /// Payment data: card numbers, bank accounts.
    Financial,
    /// Credentials: API keys, tokens, private keys.
    Secret,
}

impl DataClass {
    /// Every class, lowest first.
    pub const ALL: [DataClass; 5] = [
        DataClass::Public,
        DataClass::Internal,
        DataClass::Pii,
        DataClass::Financial,
        DataClass::Secret,
    ];

    /// The name used in headers and config (`pii`).
    pub fn as_str(self) -> &'static str {
        match self {
            DataClass::Public => "public",
            DataClass::Internal => "internal",
            DataClass::Pii => "pii",
            DataClass::Financial => "financial",
            DataClass::Secret => "secret",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for DataClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DataClass {
    type Err = UnknownDataClass;

    /// Parses a class name, ignoring case and surrounding spaces.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        DataClass::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| UnknownDataClass {
                name: name.to_owned(),
            })
    }
}

/// A data class name that is not one of [`DataClass::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownDataClass {
    /// The name as given.
    pub name: String,
}

impl fmt::Display for UnknownDataClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown data class {:?}; known: ", self.name)?;
        for (i, class) in DataClass::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(class.as_str())?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownDataClass {}

/// A set of data classes, iterated lowest first; serialised as a list of names.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DataClasses(u8);

impl DataClasses {
    /// The empty set.
    pub const EMPTY: DataClasses = DataClasses(0);

    /// The set holding only `class`.
    pub fn only(class: DataClass) -> Self {
        DataClasses(class.bit())
    }

    /// This set with `class` added.
    #[must_use]
    pub fn with(self, class: DataClass) -> Self {
        DataClasses(self.0 | class.bit())
    }

    /// Adds `class`.
    pub fn insert(&mut self, class: DataClass) {
        self.0 |= class.bit();
    }

    /// True when `class` is in the set.
    pub fn contains(self, class: DataClass) -> bool {
        self.0 & class.bit() != 0
    }

    /// The classes in either set.
    #[must_use]
    pub fn union(self, other: DataClasses) -> Self {
        DataClasses(self.0 | other.0)
    }

    /// The classes in both sets.
    #[must_use]
    pub fn intersection(self, other: DataClasses) -> Self {
        DataClasses(self.0 & other.0)
    }

    /// The classes in `self` that are not in `other`.
    #[must_use]
    pub fn difference(self, other: DataClasses) -> Self {
        DataClasses(self.0 & !other.0)
    }

    /// True when every class of `self` is in `other`.
    pub fn is_subset(self, other: DataClasses) -> bool {
        self.0 & !other.0 == 0
    }

    /// True when the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The number of classes in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The most sensitive class, `None` for the empty set.
    pub fn highest(self) -> Option<DataClass> {
        self.iter().last()
    }

    /// True when some class of the set is more sensitive than `ceiling` (a key's limit).
    pub fn exceeds(self, ceiling: DataClass) -> bool {
        self.highest().is_some_and(|c| c > ceiling)
    }

    /// The classes, lowest first.
    pub fn iter(self) -> impl Iterator<Item = DataClass> {
        DataClass::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }

    /// Parses an `x-switchyard-data-class` header value: names separated by commas
    /// (`pii, financial`); empty items are skipped, an unknown name is an error.
    pub fn parse_header(value: &str) -> Result<Self, UnknownDataClass> {
        value
            .split(',')
            .filter(|item| !item.trim().is_empty())
            .map(DataClass::from_str)
            .collect()
    }
}

impl FromStr for DataClasses {
    type Err = UnknownDataClass;

    /// Same as [`DataClasses::parse_header`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DataClasses::parse_header(s)
    }
}

impl FromIterator<DataClass> for DataClasses {
    fn from_iter<I: IntoIterator<Item = DataClass>>(iter: I) -> Self {
        iter.into_iter().fold(DataClasses::EMPTY, DataClasses::with)
    }
}

impl From<DataClass> for DataClasses {
    fn from(class: DataClass) -> Self {
        DataClasses::only(class)
    }
}

impl fmt::Display for DataClasses {
    /// Comma-separated names, lowest first, as the header takes them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, class) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(class.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Debug for DataClasses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl Serialize for DataClasses {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for DataClasses {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Vec::<DataClass>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_ordered_by_sensitivity() {
        let mut sorted = DataClass::ALL;
        sorted.sort();
        assert_eq!(sorted, DataClass::ALL);
        assert!(DataClass::Public < DataClass::Internal);
        assert!(DataClass::Pii < DataClass::Financial);
        assert!(DataClass::Financial < DataClass::Secret);
    }

    #[test]
    fn header_values_parse_to_sets() {
        let set = DataClasses::parse_header("pii, Financial").unwrap();
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [DataClass::Pii, DataClass::Financial]
        );
        assert_eq!(set.highest(), Some(DataClass::Financial));
        assert_eq!(set.to_string(), "pii,financial");
        assert_eq!(DataClasses::parse_header("").unwrap(), DataClasses::EMPTY);
        assert_eq!(DataClasses::parse_header("secret,").unwrap().len(), 1);
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let err = DataClasses::parse_header("pii,medical").unwrap_err();
        assert_eq!(err.name, "medical");
        assert_eq!(
            err.to_string(),
            "unknown data class \"medical\"; known: public, internal, pii, financial, secret"
        );
    }

    #[test]
    fn sets_serialise_as_ordered_name_lists() {
        let set = DataClasses::only(DataClass::Secret).with(DataClass::Pii);
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"["pii","secret"]"#);
        let back: DataClasses = serde_json::from_str(&json).unwrap();
        assert_eq!(back, set);
        assert!(serde_json::from_str::<DataClasses>(r#"["nope"]"#).is_err());
    }

    #[test]
    fn set_arithmetic() {
        let declared = DataClasses::only(DataClass::Internal);
        let found = DataClasses::only(DataClass::Pii);
        let all = declared.union(found);
        assert!(declared.is_subset(all));
        assert!(!all.is_subset(declared));
        assert_eq!(all.difference(declared), found);
        assert!(all.exceeds(DataClass::Internal));
        assert!(!all.exceeds(DataClass::Pii));
        assert!(!DataClasses::EMPTY.exceeds(DataClass::Public));
        assert_eq!(DataClasses::EMPTY.highest(), None);
    }
}

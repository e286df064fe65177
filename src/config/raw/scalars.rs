//! The scalar and map shapes the file layer reads: text that must be text,
//! flags that must be booleans, maps whose keys keep their positions, and
//! `service.env` values.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use serde_saphyr::Spanned;

/// A YAML string, and only a string: `secret: 12` or `project: true` is a type error like any
/// other mistyped value, instead of being read as the text `12` (a number in YAML, so likely
/// not what was meant, and `1.10` would silently become `1.1`). Anything else is accepted here
/// as `Err(what it is)` and reported by the resolve step at the value's own position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::config) struct Text(pub Result<String, &'static str>);

impl Text {
    /// The text, or `""` for a value that is not text (reported separately).
    pub(crate) fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }
}

/// A YAML boolean, and only a boolean: the text `"false"` is a type error (in a
/// truthiness-minded reader it would mean *true*), as are YAML 1.1's `yes` and `on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::config) struct Flag(pub Result<bool, &'static str>);

/// Records what kind of YAML value arrived, for [`Text`] and [`Flag`].
struct KindVisitor<T>(
    fn(&str) -> Result<T, &'static str>,
    fn(bool) -> Result<T, &'static str>,
);

impl<'de, T> Visitor<'de> for KindVisitor<T> {
    type Value = Result<T, &'static str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok((self.0)(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok((self.1)(v))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Err("the number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Err("the number"))
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> {
        Ok(Err("the number"))
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
        Ok(Err("the number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Err("the number"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Err("an empty value"))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Err("an empty value"))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Err("a list"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(Err("a mapping"))
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(KindVisitor(|s| Ok(s.to_owned()), |_| Err("the boolean")))
            .map(Text)
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(KindVisitor(|_| Err("the text"), Ok))
            .map(Flag)
    }
}

/// A YAML mapping kept in file order with the location of every key and value.
///
/// `BTreeMap<Spanned<String>, _>` is not possible (`Spanned` is not `Ord`) and would lose the
/// key locations we need for "bad variable name" errors. Duplicate keys never reach this type:
/// the parser is configured with `DuplicateKeyPolicy::Error`.
#[derive(Debug)]
pub(in crate::config) struct SpannedMap<V>(pub Vec<(Spanned<String>, Spanned<V>)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for SpannedMap<V> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(std::marker::PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = SpannedMap<V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of NAME: value")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let value = map.next_value::<Spanned<V>>()?;
                    entries.push((key, value));
                }
                Ok(SpannedMap(entries))
            }
        }

        deserializer.deserialize_map(MapVisitor(std::marker::PhantomData))
    }
}

/// A value under `service.env`, remembering whether YAML read it as text.
///
/// Env values are strings. An unquoted `80`, `true` or `1.10` is a number or boolean to YAML,
/// and tools disagree on how to turn those back into text (`1.10` becomes `1.1`, `yes` may
/// become `true` or `True`). Following Kubernetes, which rejects non-string env values, we
/// reject them with a hint to quote them, so the value deployed is exactly the value written.
#[derive(Debug)]
pub(in crate::config) enum EnvValue {
    Text(String),
    /// A number or boolean (the payload names which, for the message).
    NotText(&'static str),
    /// `NAME:` with nothing after it.
    Empty,
    /// A list or mapping (the payload names which). Accepted here rather than failed on, so
    /// that the error points at the value itself; resolve reports it.
    Collection(&'static str),
}

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EnvValueVisitor;

        impl<'de> Visitor<'de> for EnvValueVisitor {
            type Value = EnvValue;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<EnvValue, E> {
                Ok(EnvValue::Text(v.to_owned()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<EnvValue, E> {
                Ok(EnvValue::Text(v))
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<EnvValue, E> {
                Ok(EnvValue::NotText("a boolean"))
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<EnvValue, E> {
                Ok(EnvValue::NotText("a number"))
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<EnvValue, E> {
                Ok(EnvValue::NotText("a number"))
            }

            fn visit_i128<E: de::Error>(self, _: i128) -> Result<EnvValue, E> {
                Ok(EnvValue::NotText("a number"))
            }

            fn visit_u128<E: de::Error>(self, _: u128) -> Result<EnvValue, E> {
                Ok(EnvValue::NotText("a number"))
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<EnvValue, E> {
                Ok(EnvValue::NotText("a number"))
            }

            fn visit_unit<E: de::Error>(self) -> Result<EnvValue, E> {
                Ok(EnvValue::Empty)
            }

            fn visit_none<E: de::Error>(self) -> Result<EnvValue, E> {
                Ok(EnvValue::Empty)
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<EnvValue, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(EnvValue::Collection("a list"))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EnvValue, A::Error> {
                while map
                    .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(EnvValue::Collection("a mapping"))
            }
        }

        deserializer.deserialize_any(EnvValueVisitor)
    }
}

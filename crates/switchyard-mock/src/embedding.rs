//! Deterministic unit-length embeddings (the same text always maps to the same vector), sized
//! as the model would size them: a default, and a maximum the request's `dimensions` may not
//! pass. Never size a vector by a request's number before [`Dimensions::resolve`] has checked it.

use crate::budget::Cancel;
use crate::limits::{Exceeded, Limit, Limits, Stop};
use crate::schema::Rng;
use crate::tokens;
use std::hash::{DefaultHasher, Hash, Hasher};
use switchyard_protocol::{EmbedRequest, EmbedResponse, Usage};

/// Published maximum dimensions of the embedding models the mock is asked for by name: OpenAI's
/// (text-embedding-3-large 3072, -3-small 1536, ada-002 1536, which has no `dimensions` but
/// gives 1536) and Google's (gemini-embedding-001 3072, text-embedding-004 and embedding-001
/// 768). Titan's sizes are an enum its module checks.
const KNOWN_MAXIMA: &[(&str, u32)] = &[
    ("text-embedding-3-large", 3072),
    ("text-embedding-3-small", 1536),
    ("text-embedding-ada-002", 1536),
    ("gemini-embedding-001", 3072),
    ("text-embedding-004", 768),
    ("embedding-001", 768),
];

/// Any other model (the mock's own `embed`, a test's made-up id) gives at most 3072, the
/// largest size any of them publishes, and never less than its default.
const OTHER_MAXIMUM: u32 = 3072;

/// The vector sizes of one embedding model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimensions {
    /// The size answered when the request names none.
    pub default: u32,
    /// The largest size the model gives.
    pub max: u32,
}

impl Dimensions {
    /// The sizes of `model` (a bare id or a path such as `models/text-embedding-004`) when it
    /// answers `default` dimensions by default.
    pub fn of(model: &str, default: u32) -> Self {
        let id = model.rsplit('/').next().unwrap_or(model);
        let max = KNOWN_MAXIMA
            .iter()
            .find(|(name, _)| *name == id)
            .map_or(OTHER_MAXIMUM, |(_, max)| *max);
        Self {
            default,
            max: max.max(default),
        }
    }

    /// The size to answer with for a request's `dimensions` (named `keyword` on the wire), or
    /// the refusal naming the maximum.
    pub fn resolve(self, requested: Option<u32>, keyword: &str) -> Result<u32, Exceeded> {
        match requested {
            None => Ok(self.default.max(1)),
            Some(d) if d == 0 || d > self.max => Err(Exceeded::new(
                Limit::Dimensions,
                keyword,
                Some(u64::from(d)),
                u64::from(self.max),
            )),
            Some(d) => Ok(d),
        }
    }
}

/// Embeddings for `req`, sized by `dims` and bounded by `limits`; stops once `cancel` is set.
pub fn embed(
    req: &EmbedRequest,
    model: &str,
    dims: Dimensions,
    limits: &Limits,
    cancel: &Cancel,
) -> Result<EmbedResponse, Stop> {
    let size = dims.resolve(req.dimensions, "dimensions")?;
    let values = req.input.len() as u64 * u64::from(size);
    if values > limits.max_embedding_values {
        let allowed = limits.max_embedding_values;
        return Err(
            Exceeded::new(Limit::EmbeddingValues, "dimensions", Some(values), allowed).into(),
        );
    }
    let mut input_tokens = 0;
    let mut data = Vec::with_capacity(req.input.len());
    for text in &req.input {
        input_tokens += tokens::count(text, cancel)?;
        data.push(vector(text, size as usize));
    }
    Ok(EmbedResponse {
        model: model.to_owned(),
        data,
        usage: Usage {
            input_tokens,
            ..Usage::default()
        },
    })
}

/// The unit vector of `text`.
fn vector(text: &str, size: usize) -> Vec<f32> {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    let mut rng = Rng::new(h.finish());
    let v: Vec<f64> = (0..size).map(|_| rng.unit() * 2.0 - 1.0).collect();
    let norm = v
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    v.iter().map(|x| (x / norm) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(dimensions: Option<u32>, inputs: usize) -> EmbedRequest {
        EmbedRequest {
            model: "m".into(),
            input: vec!["alpha".into(); inputs],
            dimensions,
            user: None,
            encoding: switchyard_protocol::EmbedEncoding::Float,
        }
    }

    fn refusal(result: Result<EmbedResponse, Stop>) -> Exceeded {
        match result {
            Err(Stop::Refused(e)) => *e,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn models_get_their_published_maximum_and_others_3072() {
        assert_eq!(Dimensions::of("text-embedding-3-large", 256).max, 3072);
        assert_eq!(Dimensions::of("text-embedding-3-small", 256).max, 1536);
        assert_eq!(Dimensions::of("models/text-embedding-004", 768).max, 768);
        assert_eq!(
            Dimensions::of("embed", 256),
            Dimensions {
                default: 256,
                max: 3072
            }
        );
        assert_eq!(Dimensions::of("embed", 4096).max, 4096);
    }

    #[test]
    fn dimensions_past_the_maximum_are_refused_naming_it() {
        let dims = Dimensions::of("text-embedding-3-small", 256);
        let cancel = Cancel::new();
        let e = refusal(embed(
            &request(Some(2_147_483_648u64 as u32), 1),
            "m",
            dims,
            &Limits::DEFAULT,
            &cancel,
        ));
        assert_eq!(
            (e.limit, e.keyword.as_str(), e.allowed),
            (Limit::Dimensions, "dimensions", 1536)
        );
        assert!(e.to_string().contains("1536"), "{e}");
        let e = refusal(embed(
            &request(Some(0), 1),
            "m",
            dims,
            &Limits::DEFAULT,
            &cancel,
        ));
        assert_eq!(e.limit, Limit::Dimensions);
        let ok = embed(
            &request(Some(1536), 2),
            "m",
            dims,
            &Limits::DEFAULT,
            &cancel,
        );
        assert_eq!(ok.map(|r| r.data[1].len()), Ok(1536));
    }

    #[test]
    fn inputs_times_dimensions_past_the_limit_are_refused() {
        let limits = Limits {
            max_embedding_values: 1000,
            ..Limits::DEFAULT
        };
        let dims = Dimensions::of("embed", 256);
        let e = refusal(embed(&request(None, 4), "m", dims, &limits, &Cancel::new()));
        assert_eq!((e.limit, e.requested), (Limit::EmbeddingValues, Some(1024)));
    }

    #[test]
    fn same_text_same_unit_vector() {
        let dims = Dimensions::of("embed", 64);
        let r = embed(
            &request(None, 2),
            "m",
            dims,
            &Limits::DEFAULT,
            &Cancel::new(),
        );
        let data = r.map(|r| r.data).unwrap_or_default();
        assert_eq!(data[0], data[1]);
        let norm: f32 = data[0].iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-3);
    }
}

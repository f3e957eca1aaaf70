//! The body of every error response. Error policy: the server renders each of its `ApiError`s
//! into this one shape, so the UI and scripts decode errors one way.

use serde::{Deserialize, Serialize};

/// A machine-readable error: a stable `code`, a human `message`, and per-field problems.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable identifier, e.g. `"not_found"`, `"unprocessable"`.
    pub code: String,
    /// One sentence for a person.
    pub message: String,
    /// Per-field problems (a 422 names every bad field here); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// Dotted path of the field in the request body, e.g. `"objective.beta"`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_omits_empty_fields_and_reads_them_back() {
        let body = ErrorBody {
            code: "not_found".into(),
            message: "no route /api/nope".into(),
            fields: vec![],
        };
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "not_found", "message": "no route /api/nope"})
        );
        let back: ErrorBody = serde_json::from_value(json).unwrap();
        assert_eq!(back, body);
    }

    #[test]
    fn field_errors_round_trip() {
        let body = ErrorBody {
            code: "unprocessable".into(),
            message: "invalid run spec".into(),
            fields: vec![FieldError {
                field: "objective.beta".into(),
                message: "must be > 0".into(),
            }],
        };
        let json = serde_json::to_string(&body).unwrap();
        assert_eq!(serde_json::from_str::<ErrorBody>(&json).unwrap(), body);
    }
}

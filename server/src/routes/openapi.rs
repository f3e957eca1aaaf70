//! `GET /api/openapi.json`: the OpenAPI 3.1 document, built from [`super::ENDPOINTS`] (the same
//! table the router is checked against in `tests/api.rs`) and the JSON shapes of the `shared`
//! types.

use axum::Json;
use serde_json::{Map, Value, json};

use super::{ENDPOINTS, Endpoint};

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn object(properties: &[(&str, Value)], required: &[&str]) -> Value {
    let props: Map<String, Value> = properties
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect();
    json!({ "type": "object", "properties": props, "required": required })
}

fn schemas() -> Value {
    let string = json!({"type": "string"});
    let number = json!({"type": "number"});
    let integer = json!({"type": "integer"});
    let boolean = json!({"type": "boolean"});
    let metrics = json!({"type": "object", "additionalProperties": {"type": "number"}});
    let method = json!({"type": "string", "enum": shared::run::Method::ALL.map(|m| m.as_str())});
    let state = json!({"type": "string", "enum": shared::run::RunState::ALL.map(|s| s.as_str())});
    let split = json!({"type": "string", "enum": ["forget01", "forget05", "forget10"]});
    json!({
        "ErrorBody": object(&[
            ("code", string.clone()),
            ("message", string.clone()),
            ("fields", json!({"type": "array", "items": object(&[("field", string.clone()), ("message", string.clone())], &["field", "message"])})),
        ], &["code", "message"]),
        "ObjectiveSpec": object(&[
            ("method", method.clone()),
            ("params", metrics.clone()),
            ("retain_loss", json!({"type": "string", "enum": ["none", "nll", "summed_nll", "kl"]})),
        ], &["method"]),
        "Wrapper": json!({"oneOf": [
            object(&[("kind", json!({"const": "none"}))], &["kind"]),
            object(&[("kind", json!({"const": "dv"})), ("tau", number.clone()), ("direction", json!({"type": "string", "enum": ["soft_min", "soft_max"]}))], &["kind"]),
            object(&[("kind", json!({"const": "g"})), ("ratio", number.clone())], &["kind"]),
        ]}),
        "RunSpec": json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["model", "objective"],
            "properties": {
                "name": string, "tags": {"type": "array", "items": string},
                "model": string,
                "data": object(&[("source", json!({"oneOf": [
                    object(&[("kind", json!({"const": "default"}))], &["kind"]),
                    object(&[("kind", json!({"const": "dir"})), ("path", string.clone())], &["kind", "path"]),
                ]})), ("split", split.clone())], &[]),
                "template": {"type": "string", "enum": ["plain", "chat"]},
                "objective": schema_ref("ObjectiveSpec"),
                "wrapper": schema_ref("Wrapper"),
                "trainer": object(&[("lr", number.clone()), ("epochs", number.clone()), ("batch_size", integer.clone()), ("grad_accum", integer.clone()), ("warmup_epochs", number.clone()), ("weight_decay", number.clone()), ("seed", integer.clone()), ("dtype", json!({"type": "string", "enum": ["f32", "bf16", "f16"]})), ("gradient_checkpointing", boolean.clone()), ("reference_mode", json!({"type": "string", "enum": ["live", "cached"]})), ("optimizer_offload", boolean.clone()), ("devices", integer.clone()),
                    ("stop_when", object(&[("mu_below", number.clone()), ("gibberish_below", number.clone()), ("no_change_after", integer.clone())], &[]))], &[]),
                "eval": object(&[("enabled", boolean.clone()), ("batch_size", integer.clone()), ("max_new_tokens", integer.clone()), ("retain_ref", string.clone()),
                    ("during", object(&[("every", json!({"oneOf": [object(&[("steps", integer.clone())], &["steps"]), object(&[("epochs", number.clone())], &["epochs"])]})), ("items", integer.clone())], &["every"])),
                    ("select", json!({"type": "string", "enum": ["last", "best_forget_quality", "best_balance"]}))], &[]),
            }
        }),
        "SweepSpec": object(&[
            ("name", string.clone()),
            ("base", schema_ref("RunSpec")),
            ("grid", object(&[
                ("models", json!({"type": "array", "items": string})),
                ("splits", json!({"type": "array", "items": split})),
                ("objectives", json!({"type": "array", "items": schema_ref("ObjectiveSpec")})),
                ("wrappers", json!({"type": "array", "items": schema_ref("Wrapper")})),
                ("lrs", json!({"type": "array", "items": number})),
                ("seeds", json!({"type": "array", "items": integer})),
            ], &[])),
        ], &["name", "base"]),
        "Created": object(&[("ids", json!({"type": "array", "items": integer})), ("sweep_id", integer.clone())], &["ids"]),
        "RunSummary": object(&[
            ("id", integer.clone()), ("name", string.clone()), ("state", state), ("model", string.clone()),
            ("method", method), ("wrapper", string.clone()), ("split", string.clone()),
            ("tags", json!({"type": "array", "items": string})), ("created_by", string.clone()),
            ("created_at_ms", integer.clone()), ("started_at_ms", integer.clone()), ("finished_at_ms", integer.clone()),
            ("sweep_id", integer.clone()), ("metrics", metrics),
        ], &["id", "name", "state", "model", "method"]),
        "RunDetail": json!({"allOf": [schema_ref("RunSummary"), object(&[
            ("spec", schema_ref("RunSpec")), ("error", string.clone()), ("share_slug", string.clone()),
            ("artifacts", json!({"type": "array", "items": string})),
            ("environment", json!({"type": "object", "additionalProperties": string})),
            ("placement", object(&[("executor", json!({"type": "string", "enum": ["local", "slurm"]})), ("devices", json!({"type": "array", "items": string})), ("job_id", string.clone()), ("job_state", string.clone()), ("requeues", integer.clone())], &["executor"])),
        ], &["spec"])]}),
        "RunPage": object(&[("runs", json!({"type": "array", "items": schema_ref("RunSummary")})), ("total", integer.clone()), ("offset", integer.clone()), ("limit", integer)], &["runs", "total"]),
        "ModelEntry": object(&[("id", string.clone()), ("family", string.clone()), ("parameters", json!({"type": "integer"})), ("source", string.clone())], &["id"]),
        "ServerEvent": json!({"type": "object", "description": "tagged by `type`: snapshot, step, eval, trajectory (an evaluation during training), metrics, log, state; every event has `seq`", "required": ["type", "seq"]}),
    })
}

fn operation(endpoint: &Endpoint) -> Value {
    let mut op = json!({
        "summary": endpoint.summary,
        "responses": {
            endpoint.status.to_string(): {
                "description": "success",
                "content": endpoint.response.map(|r| json!({"application/json": {"schema": schema_ref(r)}})).unwrap_or(json!({}))
            },
            "default": {"description": "error", "content": {"application/json": {"schema": schema_ref("ErrorBody")}}}
        }
    });
    if let Some(body) = endpoint.request {
        op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": schema_ref(body)}}});
    }
    if endpoint.token {
        op["security"] = json!([{"bearer": []}]);
    }
    let params: Vec<Value> = endpoint
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name.trim_start_matches('*'), "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    if !params.is_empty() {
        op["parameters"] = Value::Array(params);
    }
    op
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for endpoint in ENDPOINTS {
        let entry = paths
            .entry(endpoint.path.replace("{*", "{"))
            .or_insert_with(|| json!({}));
        entry[endpoint.method.to_lowercase()] = operation(endpoint);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Lethe", "version": env!("CARGO_PKG_VERSION"),
                 "description": "LLM unlearning workbench: runs, sweeps, live progress, TOFU results."},
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
        }
    })
}

/// `GET /api/openapi.json`.
pub async fn get_openapi() -> Json<Value> {
    Json(document())
}

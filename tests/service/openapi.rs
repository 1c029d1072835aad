//! The OpenAPI document (docs/api.md: "Serve the full, generated OpenAPI 3 document at
//! `GET /openapi.json`"): it is served, it lists every path of the contract, and the answers the
//! service really gives have the shapes it documents.

use returns_testkit::TestApp;
use serde_json::{json, Value};

use crate::support::{
    eu_order, expect_json, expect_problem, headphones_return, id_of, Api, SELLER,
};

async fn document(app: &TestApp) -> Value {
    expect_json(app.get("/openapi.json").await, 200).await
}

/// The schema `reference` points to (`#/components/schemas/<name>`), or `schema` itself.
#[track_caller]
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(target) => {
            let name = target
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected reference {target}"));
            let resolved = &doc["components"]["schemas"][name];
            assert!(resolved.is_object(), "{target} is not in the document");
            resolved
        }
        None => schema,
    }
}

/// The schema of the JSON answer `status` of `method path`, resolved.
#[track_caller]
fn response_schema<'a>(doc: &'a Value, method: &str, path: &str, status: u16) -> &'a Value {
    let schema = &doc["paths"][path][method]["responses"][status.to_string()]["content"]
        ["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "no JSON schema for {status} of {method} {path}"
    );
    resolve(doc, schema)
}

fn allows_type(schema: &Value, json_type: &str) -> bool {
    match &schema["type"] {
        Value::String(t) => t == json_type || (t == "number" && json_type == "integer"),
        Value::Array(types) => types.iter().any(|t| t == json_type),
        _ => true,
    }
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Asserts that `value` has the shape `schema` documents: types, enums, every required property
/// present and no property left undocumented, down through references, arrays and nullables.
#[track_caller]
fn assert_conforms(doc: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = resolve(doc, schema);
    if let Some(branches) = schema["oneOf"].as_array() {
        let branch = if value.is_null() {
            branches.iter().find(|b| b["type"] == "null")
        } else {
            branches.iter().find(|b| b["type"] != "null")
        };
        let branch = branch.unwrap_or_else(|| panic!("{at}: {value} fits no branch of {schema}"));
        return assert_conforms(doc, branch, value, at);
    }
    let json_type = type_of(value);
    assert!(
        allows_type(schema, json_type),
        "{at}: a {json_type} ({value}) where the document says {schema}"
    );
    if let Some(values) = schema["enum"].as_array() {
        assert!(
            values.contains(value),
            "{at}: {value} is not one of {values:?}"
        );
    }
    match value {
        Value::Object(object) => {
            for required in schema["required"].as_array().into_iter().flatten() {
                let name = required.as_str().unwrap_or_default();
                assert!(
                    object.contains_key(name),
                    "{at}: required property {name:?} missing from {value}"
                );
            }
            if let Some(properties) = schema["properties"].as_object() {
                for (name, field) in object {
                    let property = properties.get(name).unwrap_or_else(|| {
                        panic!("{at}: property {name:?} is not documented in {schema}")
                    });
                    assert_conforms(doc, property, field, &format!("{at}.{name}"));
                }
            }
        }
        Value::Array(items) if schema["items"].is_object() => {
            for (i, item) in items.iter().enumerate() {
                assert_conforms(doc, &schema["items"], item, &format!("{at}[{i}]"));
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_served_without_a_token() {
    let app = TestApp::spawn().await;

    let res = app.get("/openapi.json").await;

    assert_eq!(res.status(), 200);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let doc: Value = res.json().await.unwrap();
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3."), "openapi {version}");
    assert!(doc["info"]["title"].is_string());
}

#[tokio::test]
async fn every_path_of_the_contract_is_documented_with_its_method() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let mut expected = vec![
        ("/v1/orders", "post"),
        ("/v1/orders/{order_id}", "get"),
        ("/v1/orders/{order_id}/delivery", "post"),
        ("/v1/sellers/{seller_id}/policy", "put"),
        ("/v1/sellers/{seller_id}/policy", "get"),
        ("/v1/returns", "post"),
        ("/v1/returns", "get"),
        ("/v1/returns/{id}", "get"),
        ("/v1/returns/{id}/events", "get"),
        ("/v1/returns/{id}/messages", "get"),
        ("/v1/test-clock/advance", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/openapi.json", "get"),
    ];
    let actions = [
        "accept",
        "decline",
        "offer",
        "accept-offer",
        "decline-offer",
        "ship",
        "carrier-update",
        "receive",
        "inspect",
        "refund",
        "escalate",
        "withdraw",
        "messages",
        "evidence",
        "grant-exception",
        "assign",
        "decide",
    ];
    let action_paths: Vec<String> = actions
        .iter()
        .map(|action| format!("/v1/returns/{{id}}/{action}"))
        .collect();
    // One path per action, or the one generic path: either documents every action.
    if doc["paths"]["/v1/returns/{id}/{action}"]["post"].is_object() {
        expected.push(("/v1/returns/{id}/{action}", "post"));
    } else {
        expected.extend(action_paths.iter().map(|path| (path.as_str(), "post")));
    }

    for (path, method) in expected {
        let operation = &doc["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is not documented");
        assert!(
            operation["responses"].is_object(),
            "{method} {path} has no responses"
        );
        if path.starts_with("/v1/") {
            assert_eq!(
                operation["security"],
                json!([{ "bearer": [] }]),
                "{method} {path} does not require the bearer token"
            );
        }
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[tokio::test]
async fn problems_are_documented_as_problem_json() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;

    let responses = &doc["paths"]["/v1/returns"]["post"]["responses"];
    for status in ["401", "403", "404", "409", "413", "422", "503"] {
        let schema = &responses[status]["content"]["application/problem+json"]["schema"];
        assert_eq!(
            schema["$ref"], "#/components/schemas/Problem",
            "{status} of POST /v1/returns: {}",
            responses[status]
        );
    }
    let problem = &doc["components"]["schemas"]["Problem"];
    for field in ["type", "title", "status", "detail", "code"] {
        assert!(
            problem["properties"][field].is_object(),
            "{field}: {problem}"
        );
    }

    // A real problem has the documented shape.
    let res = app.get_return(&app.operator(), "not-a-return").await;
    let real = expect_problem(res, 404, "not_found").await;
    assert_conforms(&doc, problem, &real, "problem");
}

#[tokio::test]
async fn the_return_view_schema_names_the_contract_fields_and_fits_real_views() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let view_schema = &doc["components"]["schemas"]["ReturnView"];
    for field in [
        "id",
        "rma",
        "status",
        "outcome",
        "policy",
        "deadlines",
        "allowed_actions",
        "version",
    ] {
        assert!(
            view_schema["properties"][field].is_object(),
            "ReturnView has no {field}: {view_schema}"
        );
    }

    // A return far enough along to fill the nested parts of the view.
    let order = app.given_order(&eu_order("o-1")).await;
    let created = app
        .given_return(&app.buyer(), &headphones_return("o-1"))
        .await;
    let id = id_of(&created);
    app.act(&app.seller(), &id, "accept", &json!({})).await;
    let message = json!({ "body": "Please use the original box" });
    app.act(&app.seller(), &id, "messages", &message).await;
    let view = app.return_view(&id).await;

    for required in view_schema["required"].as_array().unwrap() {
        let name = required.as_str().unwrap();
        assert!(
            view.get(name).is_some(),
            "required {name:?} missing from a real return view: {view}"
        );
    }
    assert_conforms(&doc, view_schema, &view, "return view");
    let opened = response_schema(&doc, "post", "/v1/returns", 201);
    assert_conforms(&doc, opened, &created, "opened return");
    let get_order = response_schema(&doc, "get", "/v1/orders/{order_id}", 200);
    assert_conforms(&doc, get_order, &order, "order");

    let listing = expect_json(app.list_returns(&app.buyer(), &[]).await, 200).await;
    let list_schema = response_schema(&doc, "get", "/v1/returns", 200);
    assert_conforms(&doc, list_schema, &listing, "listing");

    let events = expect_json(app.return_events(&app.operator(), &id).await, 200).await;
    let events_schema = response_schema(&doc, "get", "/v1/returns/{id}/events", 200);
    assert_conforms(&doc, events_schema, &events, "events");

    let path = format!("/v1/returns/{id}/messages");
    let messages = expect_json(
        app.request(reqwest::Method::GET, &path, Some(&app.buyer()))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let messages_schema = response_schema(&doc, "get", "/v1/returns/{id}/messages", 200);
    assert_conforms(&doc, messages_schema, &messages, "messages");

    let policy = app
        .given_policy(SELLER, &json!({ "return_window_days": 40 }))
        .await;
    let policy_schema = response_schema(&doc, "put", "/v1/sellers/{seller_id}/policy", 200);
    assert_conforms(&doc, policy_schema, &policy, "policy");
}

/// A documented path asked with a method it does not have: 405 with `Allow` naming the methods it
/// has, not 404 (RFC 9110).
#[tokio::test]
async fn a_method_a_path_does_not_have_is_405_with_allow() {
    let app = TestApp::spawn().await;
    for (method, path, allow) in [
        ("TRACE", "/v1/orders", "POST"),
        ("DELETE", "/v1/returns", "GET, POST"),
        ("PATCH", "/v1/sellers/seller-1/policy", "GET, PUT"),
        (
            "GET",
            "/v1/returns/0193a0a0-0000-7000-8000-000000000000/accept",
            "POST",
        ),
        (
            "PUT",
            "/v1/webhooks/0193a0a0-0000-7000-8000-000000000000",
            "GET, DELETE",
        ),
    ] {
        let res = app
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                path,
                Some(&app.operator()),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{method} {path}");
        let allowed = res.headers()["allow"].to_str().unwrap().to_owned();
        assert_eq!(allowed, allow, "{method} {path}");
        crate::support::expect_problem(res, 405, "method_not_allowed").await;
    }
    // A path nobody documents is still 404.
    let res = app
        .request(
            reqwest::Method::GET,
            "/v1/nothing-here",
            Some(&app.operator()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

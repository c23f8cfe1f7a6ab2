//! `ProfilerConfig`: OSProfiler's defaults, TOML, environment variables, and errors that name
//! the bad key and value.

use std::time::Duration;

use osprof_core::config::{ConfigError, ProfilerConfig};

#[test]
fn the_defaults_are_osprofilers() {
    let config = ProfilerConfig::from_toml("").unwrap();
    assert_eq!(config, ProfilerConfig::default());
    assert!(!config.enabled && !config.trace_sql && !config.trace_requests);
    assert!(!config.filter_error_trace);
    assert_eq!(config.hmac_keys, ["SECRET_KEY"]);
    assert_eq!(config.connection_string, "messaging://");
    assert_eq!(config.socket_timeout, Duration::from_millis(100));
    assert_eq!(config.sentinel_service_name, "mymaster");
    assert_eq!(
        (
            config.es_doc_type.as_str(),
            config.es_scroll_time.as_str(),
            config.es_scroll_size
        ),
        ("notification", "2m", 10_000)
    );
}

#[test]
fn every_option_reads_from_toml() {
    let config = ProfilerConfig::from_toml(
        r#"
        [profiler]
        enabled = true
        trace_sqlalchemy = true
        trace_requests = true
        hmac_keys = ["new", "old"]
        connection_string = "redis://127.0.0.1:6379/2"
        filter_error_trace = true
        socket_timeout = 2
        sentinel_service_name = "primary"
        es_doc_type = "doc"
        es_scroll_time = "1m"
        es_scroll_size = 500

        [other]
        ignored = true
        "#,
    )
    .unwrap();
    assert!(
        config.enabled && config.trace_sql && config.trace_requests && config.filter_error_trace
    );
    assert_eq!(config.hmac_keys, ["new", "old"]);
    assert_eq!(config.connection_string, "redis://127.0.0.1:6379/2");
    assert_eq!(config.socket_timeout, Duration::from_secs(2));
    assert_eq!(config.sentinel_service_name, "primary");
    assert_eq!(
        (
            config.es_doc_type.as_str(),
            config.es_scroll_time.as_str(),
            config.es_scroll_size
        ),
        ("doc", "1m", 500)
    );
}

#[test]
fn errors_name_the_key_and_the_value() {
    let error = |text: &str| ProfilerConfig::from_toml(text).unwrap_err().to_string();
    assert_eq!(
        error("[profiler]\nenabled = \"yes\""),
        "invalid value \"yes\" for `enabled` in the configuration: expected true or false"
    );
    assert_eq!(
        error("[profiler]\nsocket_timeout = -1"),
        "invalid value -1 for `socket_timeout` in the configuration: expected seconds, from 0.001 (1 ms) to 3600"
    );
    assert!(error("[profiler]\nsocket_timeout = 1e-10").contains("from 0.001 (1 ms) to 3600"));
    for empty_keys in [
        "hmac_keys = \"\"",
        "hmac_keys = \" , \"",
        "hmac_keys = []",
        "hmac_keys = [\"a\", \"\"]",
    ] {
        assert!(
            error(&format!("[profiler]\n{empty_keys}"))
                .contains("expected one or more keys, none of them empty"),
            "{empty_keys}"
        );
    }
    assert!(error("[profiler]\nconnection_string = \"localhost\"").contains("`connection_string`"));
    assert!(
        error("[profiler]\nhmac_keys = [1]")
            .contains("a comma-separated string or a list of strings")
    );
    assert!(error("[profiler]\nenabeld = true").starts_with(
        "unknown option `profiler.enabeld` in the configuration; known options: enabled,"
    ));
    assert!(error("[profiler\n").starts_with("the configuration is not valid TOML"));
    assert!(matches!(
        ProfilerConfig::from_toml_file("/no/such/osprof.toml"),
        Err(ConfigError::Read { .. })
    ));
}

#[test]
fn environment_variables_override_the_file() {
    let config = ProfilerConfig::from_toml("[profiler]\nenabled = false\nhmac_keys = \"a\"")
        .unwrap()
        .with_env_vars([
            ("OSPROF_ENABLED", "1"),
            ("OSPROF_HMAC_KEYS", " b, c "),
            ("OSPROF_TRACE_SQLALCHEMY", "true"),
            ("OSPROFILER_CONNECTION_STRING", "redis://python-style"),
            ("PATH", "/usr/bin"),
        ])
        .unwrap();
    assert!(config.enabled && config.trace_sql);
    assert_eq!(config.hmac_keys, ["b", "c"]);
    assert_eq!(config.connection_string, "redis://python-style");

    let config = ProfilerConfig::default()
        .with_env_vars([
            ("OSPROFILER_CONNECTION_STRING", "redis://python-style"),
            ("OSPROF_CONNECTION_STRING", "file:///ours.jsonl"),
        ])
        .unwrap();
    assert_eq!(
        config.connection_string, "file:///ours.jsonl",
        "osprof's own name wins"
    );

    let error = ProfilerConfig::default()
        .with_env_vars([("OSPROF_ES_SCROLL_SIZE", "many")])
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid value \"many\" for `es_scroll_size` in OSPROF_ES_SCROLL_SIZE: expected a whole number"
    );
}

#[test]
fn what_is_ignored_is_named_with_what_is_known() {
    let config = ProfilerConfig::from_toml(
        "title = \"nova\"\n[database]\nurl = \"x\"\n[profiler]\nenabled = true\n",
    )
    .unwrap();
    assert!(config.enabled);
    assert_eq!(config.warnings.len(), 2, "{:?}", config.warnings);
    assert!(
        config.warnings[0].starts_with(
            "ignored `database` in the configuration: osprof reads only the [profiler] table (keys: enabled, "
        ),
        "{:?}",
        config.warnings
    );
    assert!(config.warnings[1].starts_with("ignored `title`"));

    let config = ProfilerConfig::default()
        .with_env_vars([
            ("OSPROF_ENABLE", "true"),
            ("OSPROF_TRANSPORT_URL", "rabbit://broker"),
            ("OSPROF_ENABLED", "true"),
        ])
        .unwrap();
    assert!(config.enabled);
    assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
    assert!(
        config.warnings[0].starts_with(
            "ignored the environment variable OSPROF_ENABLE: it names no osprof option (known: OSPROF_ENABLED, "
        ),
        "{:?}",
        config.warnings
    );
    assert!(config.warnings[0].ends_with("OSPROF_TRANSPORT_URL)"));

    let clean = ProfilerConfig::from_toml("[profiler]\nenabled = true\n").unwrap();
    assert!(clean.warnings.is_empty());
}

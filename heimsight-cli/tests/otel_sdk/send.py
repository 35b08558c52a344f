"""Sends logs, spans and metrics to Heimsight with the OpenTelemetry Python SDK and its
standard OTLP exporters, the way an instrumented service would.

    python send.py --transport grpc --endpoint 127.0.0.1:4317 --tag t1
    python send.py --transport http --endpoint http://127.0.0.1:4318 --tag t1

Every record carries the tag, so a test can find exactly what this run sent. Prints one JSON
object with the ids it generated; exits non-zero if any export failed.
"""

import argparse
import json
import logging
import os
import sys

from opentelemetry import metrics, trace
from opentelemetry._logs import set_logger_provider
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

FAILURES = []


def checked(exporter):
    """Wraps an exporter's export so that any failed export is remembered."""
    inner = exporter.export

    def export(*args, **kwargs):
        result = inner(*args, **kwargs)
        name = getattr(result, "name", str(result))
        if name not in ("SUCCESS",):
            FAILURES.append(f"{type(exporter).__name__}: {name}")
        return result

    exporter.export = export
    return exporter


# Seconds each export may take, retries included (SDK_TEST_TIMEOUT; shorter where a test
# expects the export to fail).
TIMEOUT = float(os.environ.get("SDK_TEST_TIMEOUT", "10"))


def exporters(transport, endpoint):
    if transport == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        # https:// endpoints use TLS, trusting OTEL_EXPORTER_OTLP_CERTIFICATE as a user
        # would configure it; anything else is plain gRPC.
        kw = dict(endpoint=endpoint, timeout=TIMEOUT)
        if not endpoint.startswith("https://"):
            kw["insecure"] = True
        return OTLPSpanExporter(**kw), OTLPLogExporter(**kw), OTLPMetricExporter(**kw)
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    base = endpoint.rstrip("/")
    return (
        OTLPSpanExporter(endpoint=f"{base}/v1/traces", timeout=TIMEOUT),
        OTLPLogExporter(endpoint=f"{base}/v1/logs", timeout=TIMEOUT),
        OTLPMetricExporter(endpoint=f"{base}/v1/metrics", timeout=TIMEOUT),
    )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--transport", choices=["grpc", "http"], required=True)
    p.add_argument("--endpoint", required=True)
    p.add_argument("--tag", required=True)
    a = p.parse_args()

    resource = Resource.create(
        {
            "service.name": f"sdk-test-{a.transport}",
            "service.version": "1.0.0",
            "deployment.environment": "test",
        }
    )
    span_exp, log_exp, metric_exp = exporters(a.transport, a.endpoint)

    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(checked(span_exp)))
    trace.set_tracer_provider(tracer_provider)

    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(checked(log_exp)))
    set_logger_provider(logger_provider)
    log = logging.getLogger("sdk-test")
    log.setLevel(logging.INFO)
    log.propagate = False
    log.addHandler(LoggingHandler(level=logging.INFO, logger_provider=logger_provider))

    reader = PeriodicExportingMetricReader(checked(metric_exp), export_interval_millis=3_600_000)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    metrics.set_meter_provider(meter_provider)

    tracer = trace.get_tracer("sdk-test.tracer", "0.1.0")
    meter = metrics.get_meter("sdk-test.meter", "0.2.0")

    ids = {}
    with tracer.start_as_current_span(
        "checkout",
        kind=SpanKind.SERVER,
        attributes={"tag": a.tag, "http.method": "POST", "retries": 3, "ratio": 0.5, "cached": True},
    ) as parent:
        ids["trace_id"] = format(parent.get_span_context().trace_id, "032x")
        ids["parent_span_id"] = format(parent.get_span_context().span_id, "016x")
        with tracer.start_as_current_span("charge card", kind=SpanKind.CLIENT) as child:
            ids["child_span_id"] = format(child.get_span_context().span_id, "016x")
            child.add_event("card declined", {"card.last4": "4242", "attempt": 2})
            child.set_status(Status(StatusCode.ERROR, "insufficient funds"))
            log.error("payment %s declined", a.tag, extra={"order.id": 42, "tag": a.tag})
        log.info("checkout %s finished", a.tag, extra={"tag": a.tag})

    requests = meter.create_counter("sdk_test_requests", unit="1", description="requests served")
    requests.add(5, {"route": "/checkout", "tag": a.tag})
    requests.add(2, {"route": "/checkout", "tag": a.tag})
    latency = meter.create_histogram("sdk_test_latency", unit="s", description="request latency")
    for v in (0.1, 0.2, 3.0):
        latency.record(v, {"tag": a.tag})
    queue = meter.create_up_down_counter("sdk_test_queue_depth")
    queue.add(10, {"tag": a.tag})
    queue.add(-4, {"tag": a.tag})

    def temperature(_options):
        return [metrics.Observation(21.5, {"tag": a.tag, "room": "lab"})]

    meter.create_observable_gauge("sdk_test_temperature", callbacks=[temperature], unit="Cel")

    meter_provider.force_flush()
    tracer_provider.shutdown()
    logger_provider.shutdown()
    meter_provider.shutdown()

    print(json.dumps(ids))
    if FAILURES:
        print("export failures: " + "; ".join(FAILURES), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""modelops events as Prometheus metrics.

    pip install modelops-prometheus

Installed, the plugin counts predictions, errors and latency, model metrics and stages, drift
detections and alerts in prometheus_client's global registry, which your service's
``/metrics`` endpoint already exposes — or serve it on its own::

    from modelops_prometheus import exporter
    exporter.serve(9464)                      # http://host:9464/metrics

For a registry of your own, register another exporter::

    from prometheus_client import CollectorRegistry
    from modelops import plugins
    from modelops_prometheus import PrometheusExporter

    mine = PrometheusExporter(CollectorRegistry())
    plugins.plugin_manager().register(mine)
"""

from modelops_prometheus.exporter import LATENCY_BUCKETS, PrometheusExporter
from modelops_prometheus.plugin import exporter

__all__ = ["LATENCY_BUCKETS", "PrometheusExporter", "exporter"]

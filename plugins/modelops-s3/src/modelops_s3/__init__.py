"""modelops-s3: every modelops store on S3 and S3-compatible object stores.

Installed, it serves ``s3://bucket/prefix`` (and ``s3a://``) wherever modelops takes a URI::

    ops = modelops.connect("s3://my-bucket/mlops")
    ops = modelops.connect("s3://my-bucket/mlops",
                           storage_options={"endpoint_url": "http://minio:9000"})

See the package README and ``docs/s3.md`` in the modelops repository.
"""

from modelops_s3.location import SCHEMES, make_filesystem, open_storage, split_location
from modelops_s3.retry import RetryPolicy, is_transient
from modelops_s3.storage import S3Storage

__all__ = [
    "SCHEMES",
    "RetryPolicy",
    "S3Storage",
    "is_transient",
    "make_filesystem",
    "open_storage",
    "split_location",
]

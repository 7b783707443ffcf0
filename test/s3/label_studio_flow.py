"""Label Studio's stock S3 storage, call for call, against pach serve's S3 gateway (run by
test/s3/label-studio.test.ts with /usr/bin/python3). Label Studio (io_storages/s3) talks to S3
through boto3 with signature_version='s3v4'; this script makes the calls it makes for a source
storage (validate, sync, display) and a target storage (validate, export, delete), in order.

argv: endpoint. Prints one JSON object of what each step saw.
"""
import json
import re
import sys
import urllib.request

import boto3
from botocore.client import Config

endpoint = sys.argv[1]
# Label Studio's form: access key = secret (the token, or any equal pair with auth off), any region
session = boto3.Session(aws_access_key_id="labelstudio", aws_secret_access_key="labelstudio")
cfg = Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1})
client = session.client("s3", endpoint_url=endpoint, region_name="us-east-1", config=cfg)
resource = session.resource("s3", endpoint_url=endpoint, region_name="us-east-1", config=cfg)
out = {}

# -- source storage "images" (bucket master.images), prefix empty: validate is HeadBucket
client.head_bucket(Bucket="master.images")
out["validate_source"] = "ok"
# with a prefix: ListObjectsV2(Prefix, MaxKeys=1), KeyCount >= 1
r = client.list_objects_v2(Bucket="master.images", Prefix="cats", MaxKeys=1)
out["validate_prefix_keycount"] = r["KeyCount"]

# -- sync: bucket.objects.filter (ListObjects v1), non-recursive with Delimiter '/', keys ending
# in '/' skipped, then the regex filter; recursive without the delimiter
bucket = resource.Bucket("master.images")
flat = [o.key for o in bucket.objects.filter(Prefix="cats/", Delimiter="/") if not o.key.endswith("/")]
out["sync_flat"] = sorted(flat)
regex = re.compile(r".*\.jpg$")
deep = [o.key for o in bucket.objects.filter(Prefix="cats/") if not o.key.endswith("/") and regex.match(o.key)]
out["sync_recursive_jpg"] = sorted(deep)
# use_blob_urls: each task is {"$undefined$": "s3://bucket/key"}
out["tasks"] = [{"$undefined$": f"s3://master.images/{k}"} for k in sorted(deep)]

# -- display: presigned GET fetched by the browser (with a CORS preflight first), or the
# backend proxy: GetObject with a forwarded Range
url = client.generate_presigned_url("get_object", Params={"Bucket": "master.images", "Key": "cats/a.jpg"}, ExpiresIn=3600)
pre = urllib.request.Request(url, method="OPTIONS", headers={"Origin": "http://localhost:8080", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "range"})
with urllib.request.urlopen(pre) as p:
    out["cors_allow_origin"] = p.headers.get("Access-Control-Allow-Origin")
get = urllib.request.Request(url, headers={"Origin": "http://localhost:8080"})
with urllib.request.urlopen(get) as g:
    out["presigned_body"] = g.read().decode()
    out["presigned_cors"] = g.headers.get("Access-Control-Allow-Origin")
obj = client.get_object(Bucket="master.images", Key="cats/a.jpg", Range="bytes=0-3")
out["proxy_range"] = obj["Body"].read().decode()
out["proxy_content_range"] = obj["ContentRange"]

# -- target storage "labels" (bucket master.labels), prefix "annotations": validate with the
# prefix is ListObjectsV2(MaxKeys=1), KeyCount >= 0 for an export storage
r = client.list_objects_v2(Bucket="master.labels", Prefix="annotations", MaxKeys=1)
out["validate_target_keycount"] = r["KeyCount"]
# export: one PutObject(Body=json) per annotation, key <prefix>/<annotation id>; newer versions
# may send server-side encryption, which a gateway ignores
for aid, label in [(1, "cat"), (2, "dog"), (3, "cat")]:
    body = json.dumps({"id": aid, "result": [{"value": {"choices": [label]}}], "task": {"data": {"image": f"s3://master.images/cats/{'abc'[aid - 1]}.jpg"}}})
    extra = {"ServerSideEncryption": "AES256"} if aid == 3 else {}
    client.put_object(Bucket="master.labels", Key=f"annotations/{aid}", Body=body.encode(), **extra)
# an annotation deleted in Label Studio: DeleteObject
client.delete_object(Bucket="master.labels", Key="annotations/2")
out["exported"] = sorted(o["Key"] for o in client.list_objects_v2(Bucket="master.labels", Prefix="annotations/")["Contents"])
print(json.dumps(out))

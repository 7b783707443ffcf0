"""boto3 against pach serve's S3 gateway (run by test/s3/clients.test.ts with /usr/bin/python3).

argv: endpoint, a working dir holding small.txt and big.bin. Prints one JSON object of what it saw.
"""
import hashlib
import json
import sys
import urllib.request

import boto3
from botocore.client import Config
from boto3.s3.transfer import TransferConfig

endpoint, work = sys.argv[1], sys.argv[2]


def client(signature_version, secret="boto"):
    """A path-style client of the gateway signing with `signature_version` ("s3v4" or "s3", SigV2)."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="boto",
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, signature_version=signature_version, retries={"max_attempts": 1}),
    )


s3 = client("s3v4")
out = {}
s3.create_bucket(Bucket="botorepo")
s3.upload_file(f"{work}/small.txt", "botorepo", "dir/small.txt")
s3.upload_file(f"{work}/big.bin", "botorepo", "big.bin", Config=TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024))
out["buckets"] = [b["Name"] for b in s3.list_buckets()["Buckets"]]
keys = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket="many"):
    keys += [c["Key"] for c in page.get("Contents", [])]
out["v2_keys"] = len(keys)
keys1 = []
for page in s3.get_paginator("list_objects").paginate(Bucket="master.many.default"):
    keys1 += [c["Key"] for c in page.get("Contents", [])]
out["v1_keys"] = len(keys1)
top = s3.list_objects_v2(Bucket="botorepo", Delimiter="/")
out["top"] = [c["Key"] for c in top.get("Contents", [])] + [p["Prefix"] for p in top.get("CommonPrefixes", [])]
big = s3.get_object(Bucket="botorepo", Key="big.bin")["Body"].read()
out["big_sha256"] = hashlib.sha256(big).hexdigest()
out["big_etag"] = s3.head_object(Bucket="botorepo", Key="big.bin")["ETag"]
out["range"] = s3.get_object(Bucket="botorepo", Key="dir/small.txt", Range="bytes=0-4")["Body"].read().decode()
s3.copy_object(Bucket="botorepo", Key="copy.txt", CopySource={"Bucket": "botorepo", "Key": "dir/small.txt"})
url = s3.generate_presigned_url("get_object", Params={"Bucket": "botorepo", "Key": "copy.txt"}, ExpiresIn=300)
out["presigned"] = urllib.request.urlopen(url).read().decode()
out["etag_small"] = s3.head_object(Bucket="botorepo", Key="copy.txt")["ETag"]
s3.delete_object(Bucket="botorepo", Key="copy.txt")
res = s3.delete_objects(Bucket="botorepo", Delete={"Objects": [{"Key": "dir/small.txt"}, {"Key": "absent"}]})
out["deleted"] = sorted(d["Key"] for d in res.get("Deleted", []))
out["left"] = [c["Key"] for c in s3.list_objects_v2(Bucket="botorepo").get("Contents", [])]
try:
    s3.get_object(Bucket="botorepo", Key="dir/small.txt")
    out["gone"] = "still there"
except s3.exceptions.NoSuchKey:
    out["gone"] = "NoSuchKey"
# SigV2 (header and presigned query), which older boto3 uses for presigned URLs by default
v2 = client("s3")
v2.put_object(Bucket="botorepo", Key="v2.txt", Body=b"signed v2")
out["v2_list"] = [c["Key"] for c in v2.list_objects(Bucket="botorepo", Prefix="v2")["Contents"]]
out["v2_presigned"] = urllib.request.urlopen(v2.generate_presigned_url("get_object", Params={"Bucket": "botorepo", "Key": "v2.txt"}, ExpiresIn=300)).read().decode()
bad = client("s3", secret="not-boto")
try:
    bad.put_object(Bucket="botorepo", Key="v2bad.txt", Body=b"x")
    out["v2_bad"] = "accepted"
except Exception as e:
    out["v2_bad"] = e.response["Error"]["Code"]
print(json.dumps(out))

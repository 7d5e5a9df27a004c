{
  "targets": [
    {
      "target_name": "netstack_tap",
      "sources": ["native/tap/tap.c", "native/tap/offload.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}

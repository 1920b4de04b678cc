{
  "targets": [
    {
      "target_name": "vitlens_native",
      "sources": ["native/addon.cc", "native/matmul.cc", "native/few-rows-matmul.cc", "native/kernels.cc", "native/dnnl-ops.cc", "native/conv.cc", "native/conv-net.cc", "native/precision.cc", "native/signal-guard.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-march=x86-64-v2", "-mtune=native", "-fopenmp", "-Wno-psabi"],
      "ldflags": ["-fopenmp"],
      "libraries": ["-ldnnl"]
    }
  ]
}

# Probes of the build's layering (included from the top CMakeLists.txt when tests are built). Each
# probe is a target outside `all`, configured exactly like the layer it speaks for; a ctest test
# builds it and passes only when the build fails for the reason named in PASS_REGULAR_EXPRESSION,
# so a probe that fails for any other reason (or builds) fails the test.
function(ff_layering_probe name source regex)
  add_test(NAME layering.${name}
           COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target layering_${name})
  # Serial: the probes run the build tool on the same tree, which two runs at once would corrupt.
  set_tests_properties(layering.${name} PROPERTIES PASS_REGULAR_EXPRESSION "${regex}" RUN_SERIAL ON)
endfunction()

# src/train cannot include a header of the CUDA backend: neither src/ nor the CUDA headers are on
# its path (it links exactly what ff_train links).
add_library(layering_train_includes_cuda OBJECT EXCLUDE_FROM_ALL
            ${CMAKE_CURRENT_LIST_DIR}/train_includes_cuda.cpp)
target_link_libraries(layering_train_includes_cuda PRIVATE ff_core ff_data ff_cpu)
ff_layering_probe(train_includes_cuda train_includes_cuda.cpp
                  "cuda/cuda_backend.hpp: No such file or directory")

# Nor the kernels' launch interface.
add_library(layering_train_includes_kernels OBJECT EXCLUDE_FROM_ALL
            ${CMAKE_CURRENT_LIST_DIR}/train_includes_kernels.cpp)
target_link_libraries(layering_train_includes_kernels PRIVATE ff_core ff_data ff_cpu)
ff_layering_probe(train_includes_kernels train_includes_kernels.cpp
                  "launch.cuh: No such file or directory")

if(NOT FF_SANITIZE)
  # core cannot call into a layer above it: a library with core's settings that calls the CPU
  # backend's factory does not link.
  add_library(layering_core_calls_cpu SHARED EXCLUDE_FROM_ALL
              ${CMAKE_CURRENT_LIST_DIR}/core_calls_cpu.cpp)
  target_link_libraries(layering_core_calls_cpu PRIVATE ff_core)
  target_link_options(layering_core_calls_cpu PRIVATE ${FF_LAYER_LINK_CHECK})
  ff_layering_probe(core_calls_cpu core_calls_cpu.cpp "undefined reference to .ff::make_cpu_backend")
endif()

if(FF_WITH_CUDA)
  # kernels/ cannot include src/cuda (the backend uses the kernels, not the other way round).
  add_library(layering_kernels_include_backend OBJECT EXCLUDE_FROM_ALL
              ${CMAKE_CURRENT_LIST_DIR}/kernels_include_backend.cu)
  target_link_libraries(layering_kernels_include_backend PRIVATE ff_kernels)
  ff_layering_probe(kernels_include_backend kernels_include_backend.cu
                    "cuda_backend.hpp: No such file or directory")
endif()

# Adds the TensorRT backend and the CUDA kernels to the addon target (after tensorrt.cmake).
if(TRT_DETECT_HAVE_TENSORRT)
  target_sources(${PROJECT_NAME} PRIVATE
    ${CMAKE_CURRENT_SOURCE_DIR}/src/trt/trt_addon.cc
    ${CMAKE_CURRENT_SOURCE_DIR}/src/trt/logger.cc
    ${CMAKE_CURRENT_SOURCE_DIR}/src/trt/calibrator.cc
    ${CMAKE_CURRENT_SOURCE_DIR}/src/trt/builder.cc
    ${CMAKE_CURRENT_SOURCE_DIR}/src/trt/engine.cc
    ${CMAKE_CURRENT_SOURCE_DIR}/src/trt/device_info.cc)
  target_include_directories(${PROJECT_NAME} SYSTEM PRIVATE ${TRTD_TENSORRT_INCLUDE_DIR} ${TRTD_CUDA_INCLUDE_DIR})
  target_link_libraries(${PROJECT_NAME} PRIVATE ${TRTD_NVINFER} ${TRTD_NVONNXPARSER} ${TRTD_NVINFER_PLUGIN} ${TRTD_CUDART})
endif()
if(TRT_DETECT_HAVE_CUDA)
  target_link_libraries(${PROJECT_NAME} PRIVATE trt_detect_cuda)
endif()

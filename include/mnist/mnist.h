/* mnist.h - the whole library in one include.
 *
 *   #include <mnist/mnist.h>
 *
 *   cc prog.c $(pkg-config --cflags --libs mnist)
 *   or, in CMake: find_package(mnist REQUIRED)
 *                 target_link_libraries(prog PRIVATE mnist::mnist)
 *
 * Each header below is one module and its manual; start with infer.h
 * (classifying images with a trained model) and image.h (reading PNG/PGM
 * files and preparing them the way MNIST was). The headers need nothing but
 * C11: no feature-test macros and no compiler flags beyond -I.
 *
 * One line per public header, in alphabetical order: a new header in
 * include/mnist/ adds its line here (tests/install.sh fails until it does).
 */
#ifndef MNIST_MNIST_H
#define MNIST_MNIST_H

#include "mnist/atomic.h"
#include "mnist/augment.h"
#include "mnist/autothreads.h"
#include "mnist/draw.h"
#include "mnist/error.h"
#include "mnist/gemm.h"
#include "mnist/generative.h"
#include "mnist/gzip.h"
#include "mnist/idx.h"
#include "mnist/image.h"
#include "mnist/infer.h"
#include "mnist/kernels.h"
#include "mnist/layer.h"
#include "mnist/model.h"
#include "mnist/optim.h"
#include "mnist/plot.h"
#include "mnist/png.h"
#include "mnist/rng.h"
#include "mnist/safetensors.h"
#include "mnist/train.h"

#endif

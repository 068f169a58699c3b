/* layer_common.h - small pieces the layer tables share (internal). */
#ifndef MNIST_LAYER_COMMON_H
#define MNIST_LAYER_COMMON_H

#include "mnist/layer.h"

int mn_parse_no_args(mn_layer *l, const char *args, mn_err *e);
int mn_setup_same_shape(mn_layer *l, mn_err *e);
size_t mn_no_aux(const mn_layer *l);
int mn_no_params(const mn_layer *l, mn_param_desc *out);
void mn_copy_token(char *buf, size_t len, const char *token);

#endif

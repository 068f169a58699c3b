/* registry.c - the list of layer kinds. A new kind is one file in this
 * folder defining `const mn_layer_kind mn_<kind>_kind`, plus one line
 * X(<kind>) below (the order is that of the "known layers" list in
 * errors). tests/test_layers.c's contract test then runs it through
 * gradient checks, round trips and thread checks. */
#include <stdio.h>
#include <string.h>

#include "mnist/layer.h"

#define KINDS(X) \
    X(conv)      \
    X(maxpool)   \
    X(avgpool)   \
    X(flatten)   \
    X(dense)     \
    X(batchnorm) \
    X(relu)      \
    X(sigmoid)   \
    X(tanh)      \
    X(leakyrelu) \
    X(reshape)   \
    X(upsample)  \
    X(convtranspose) \
    X(dropout)   \
    X(softmax)

#define DECLARE(k) extern const mn_layer_kind mn_##k##_kind;
#define ENTRY(k) &mn_##k##_kind,
KINDS(DECLARE)
const mn_layer_kind *const mn_layer_kinds[] = {KINDS(ENTRY)};
const int mn_n_layer_kinds = (int)(sizeof mn_layer_kinds / sizeof *mn_layer_kinds);

const mn_layer_kind *mn_layer_kind_find(const char *token, size_t len)
{
    for (int k = 0; k < mn_n_layer_kinds; k++)
        if (strlen(mn_layer_kinds[k]->token) == len && memcmp(mn_layer_kinds[k]->token, token, len) == 0)
            return mn_layer_kinds[k];
    return NULL;
}

void mn_layer_kinds_usage(char *buf, size_t len)
{
    size_t used = 0;
    if (len) buf[0] = '\0';
    for (int k = 0; k < mn_n_layer_kinds && used < len; k++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", k ? ", " : "", mn_layer_kinds[k]->usage);
}

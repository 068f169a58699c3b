/* infer.c - images in, class probabilities out (see infer.h). */
#include "mnist/infer.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

int mn_predict(mn_model *m, const void *images, mn_pixels type, int n, float *probs, mn_err *e)
{
    if (n < 0) return mn_fail(e, "image count %d is negative", n);
    size_t pix = mn_shape_size(m->input_shape), C = (size_t)m->n_classes;
    if (type == MN_PIXELS_F32) {
        const float *x = images;
        for (size_t i = 0; i < (size_t)n * pix; i++)
            if (!isfinite(x[i]))
                return mn_fail(e, "image %zu, pixel %zu is not a finite number", i / pix, i % pix);
    } else if (type != MN_PIXELS_U8) {
        return mn_fail(e, "unknown pixel type %d", (int)type);
    }
    const float scale = 1.0f / 255.0f; /* as the data sets' batches */
    for (int done = 0; done < n;) {
        int B = n - done < m->max_batch ? n - done : m->max_batch;
        size_t count = (size_t)B * pix, at = (size_t)done * pix;
        if (type == MN_PIXELS_U8) {
            const uint8_t *x = (const uint8_t *)images + at;
            for (size_t i = 0; i < count; i++) m->input[i] = (float)x[i] * scale;
        } else {
            memcpy(m->input, (const float *)images + at, count * sizeof(float));
        }
        memcpy(probs + (size_t)done * C, mn_model_infer(m, B), (size_t)B * C * sizeof(float));
        done += B;
    }
    return 0;
}

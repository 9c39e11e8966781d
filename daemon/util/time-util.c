/* placeholder: being written */
#include <time.h>
#include "time-util.h"
usec_t now_usec(int clock_id) {
        struct timespec ts;
        if (clock_gettime(clock_id, &ts) < 0)
                return 0;
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / NSEC_PER_USEC;
}

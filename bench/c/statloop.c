/* statloop MODE N PATH: N stat() calls (MODE stat) or N open()+close() (MODE open) of PATH. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 4) return 2;
    long count = atol(argv[2]);
    struct stat st;
    for (long i = 0; i < count; i++) {
        if (!strcmp(argv[1], "stat")) {
            if (stat(argv[3], &st) != 0) return 1;
        } else {
            int fd = open(argv[3], O_RDONLY);
            if (fd < 0) return 1;
            close(fd);
        }
    }
    return 0;
}

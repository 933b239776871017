/* virtio.c — the calls a virtio device makes into its transport. */
#include "virtio/virtio.h"
#include "vmm/log.h"

void virtio_dev__signal_queue(struct virtio_dev *vdev, int q)
{
	if (q < 0 || q >= vdev->nr_queues)
		return;
	if (!virtqueue__should_notify(&vdev->vq[q]))
		return;
	if (vdev->transport && vdev->transport->signal_queue)
		vdev->transport->signal_queue(vdev, q);
}

void virtio_dev__signal_config(struct virtio_dev *vdev)
{
	if (vdev->transport && vdev->transport->signal_config)
		vdev->transport->signal_config(vdev);
}

void virtio_dev__needs_reset(struct virtio_dev *vdev, const char *why)
{
	__atomic_fetch_add(&vdev->needs_reset_count, 1, __ATOMIC_RELAXED);
	pr_guest("%s: device needs reset: %s", vdev->name, why ? why : "protocol violation");
	if (vdev->transport && vdev->transport->needs_reset)
		vdev->transport->needs_reset(vdev);
}

int virtio_dev__queue_detach(struct virtio_dev *vdev, int q, int *kick_fd, int *call_fd)
{
	if (q < 0 || q >= vdev->nr_queues || !vdev->transport || !vdev->transport->queue_detach)
		return -1;
	return vdev->transport->queue_detach(vdev, q, kick_fd, call_fd);
}

void virtio_dev__queue_attach(struct virtio_dev *vdev, int q)
{
	if (q >= 0 && q < vdev->nr_queues && vdev->transport && vdev->transport->queue_attach)
		vdev->transport->queue_attach(vdev, q);
}

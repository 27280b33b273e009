"""Classification datasets, registered in mmengine's ``DATASETS``."""
from .base import ArrayClsDataset, ClsBaseDataset
from .cifar import CIFAR10, CIFAR100
from .events import CIFAR10DVS, DVS128Gesture, EventFrameDataset, bin_events
from .fashion_mnist import FashionMNIST, find_fashion_mnist
from .imagenet import ImageFolder
from .nmnist import NMNIST, NFashionMNIST, read_nmnist_file, write_nmnist_file

__all__ = ["ClsBaseDataset", "ArrayClsDataset", "CIFAR10", "CIFAR100", "FashionMNIST", "find_fashion_mnist",
           "ImageFolder", "EventFrameDataset", "DVS128Gesture", "CIFAR10DVS", "bin_events", "NMNIST", "NFashionMNIST",
           "read_nmnist_file", "write_nmnist_file"]

/**
 * ResNet backbones built with the graph DSL, parameterised by an adaptor
 * that decides how every conv→BN pair and every block is built.
 * @module
 */
export * from "./adaptor.ts";
export * from "./conv_bn.ts";
export * from "./block.ts";
export * from "./head.ts";
export * from "./model.ts";
export * from "./resnet_cifar.ts";
export * from "./resnet_imagenet.ts";
export * from "./mobilenet_v2.ts";
